// Files around `pixelrec recommend`: item titles for the lists, the users to recommend for (a
// user file or a deterministic sample) and the output lists as CSV or JSON.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/id_map.h"
#include "data/split_data.h"
#include "infer/top_k_lists.h"

namespace pixelrec::infer {

// One title per item index of `items`, from the `display_title` column (else `title`); "" for
// items the file does not list or when it has neither. Throws Error naming the file (and the line
// of a malformed row) and the fix when it is missing or has no `item_id` column.
std::vector<std::string> load_item_titles(const std::filesystem::path& item_info_csv,
                                          const IdMap& items);

// One user id per line, or a CSV whose header has a `user_id` column; surrounding spaces are
// trimmed and blank lines skipped. Errors name file:line (malformed CSV, empty user_id, a comma
// in a plain id list) or the file (missing, no ids).
std::vector<std::string> read_user_file(const std::filesystem::path& path);

// n training users drawn without replacement (all of them when n exceeds their number), in
// user-index order; a pure function of (split, n, seed). UsageError for n == 0.
std::vector<std::string> sample_users(const SplitData& split, size_t n, uint64_t seed);

// `.csv` (any case) → header user_id,rank,item_id,title,score,source and one row per item;
// anything else → JSON {"users":[{"user_id","source","items":[{"rank","item_id","title",
// "score"}]}]}. Written atomically.
void write_recommendations(const std::filesystem::path& path,
                           const std::vector<UserRecommendations>& recs);

}  // namespace pixelrec::infer
