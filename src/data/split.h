// `pixelrec split`: divides the processed interactions into train/val/test with one of nine
// strategies (SPEC §4), writes the parts, the id maps and split_stats.json. The strategies are
// pure functions on in-memory keys (split_strategies.cpp); file handling is in split.cpp.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace pixelrec {

enum class SplitStrategy {
  kLeaveOneOut,
  kTemporal,
  kUserTemporal,
  kRandom,
  kStratified,
  kStratifiedByColumn,
  kStratifiedTemporal,
  kUser,
  kItem,
};

// Throws Error listing the allowed names.
SplitStrategy parse_split_strategy(std::string_view name);
std::string_view split_strategy_name(SplitStrategy strategy);
bool strategy_uses_ratios(SplitStrategy strategy);  // every strategy except leave_one_out
bool strategy_uses_strata(SplitStrategy strategy);  // stratified_by_column, stratified_temporal

enum class SplitPart : uint8_t { kTrain = 0, kVal = 1, kTest = 2 };
constexpr size_t kSplitPartCount = 3;
constexpr std::array<SplitPart, kSplitPartCount> kSplitParts = {SplitPart::kTrain, SplitPart::kVal,
                                                                SplitPart::kTest};
std::string_view split_part_name(SplitPart part);  // "train", "val", "test"

struct SplitRatios {
  double train = 0.8;
  double val = 0.1;
  double test = 0.1;
};

// What a strategy looks at: one entry per interaction, in input order. Users, items and strata
// are dense indices (0 .. count-1).
struct SplitKeys {
  std::vector<uint32_t> user;
  std::vector<uint32_t> item;
  std::vector<int64_t> timestamp;
  std::vector<uint32_t> stratum;  // empty unless the strategy uses strata
  uint32_t user_count = 0;
  uint32_t item_count = 0;
  uint32_t stratum_count = 0;
  size_t rows() const { return user.size(); }
};

struct SplitAssignment {
  std::vector<SplitPart> part;                 // one per row of the keys
  size_t users_with_too_few_interactions = 0;  // leave_one_out: users kept whole in train
};

// Throws Error ("impossible ratios ...", naming the keys) when a ratio-based strategy has a ratio
// that is not > 0.
void check_split_ratios(SplitStrategy strategy, const SplitRatios& ratios);

// Runs the strategy. Deterministic for a given seed. Throws Error naming the strategy, the empty
// part and a fix when a part would be empty, and on impossible ratios.
SplitAssignment assign_split(SplitStrategy strategy, const SplitKeys& keys,
                             const SplitRatios& ratios, uint64_t seed);

// The strategy's invariants that do not hold for this assignment (empty when all hold): parts
// cover every row; disjoint users (user) or no val/test item in train (item); time order
// (temporal, and per user for leave_one_out and user_temporal).
std::vector<std::string> find_split_violations(SplitStrategy strategy, const SplitKeys& keys,
                                               const SplitAssignment& assignment);

// `n` distinct row indices out of `total`, drawn uniformly with the seed, in ascending order.
std::vector<size_t> sample_rows(size_t total, size_t n, uint64_t seed);

// ---- statistics (split_stats.cpp) ----

struct SplitPartStats {
  size_t interactions = 0;
  size_t users = 0;
  size_t items = 0;
  double fraction = 0.0;
  std::optional<int64_t> min_timestamp;  // nullopt for an empty part
  std::optional<int64_t> max_timestamp;
};

struct SplitOverlap {  // users and items present in both parts of a pair
  size_t users = 0;
  size_t items = 0;
};

struct SplitColdStats {        // a val or test part measured against train
  double user_fraction = 0.0;  // share of the part's interactions whose user is not in train
  double item_fraction = 0.0;
  size_t cold_users = 0;  // distinct users of the part absent from train
  size_t cold_items = 0;
};

struct SplitStats {
  std::string strategy;
  std::string stratify_by;  // empty unless the strategy uses strata
  uint64_t seed = 0;
  SplitRatios ratios;
  std::optional<int64_t> sample_n;
  size_t input_interactions = 0;
  std::array<SplitPartStats, kSplitPartCount> parts;
  SplitOverlap train_val, train_test, val_test;
  SplitColdStats cold_val, cold_test;
  std::optional<size_t> users_with_too_few_interactions;  // leave_one_out only
  double seconds = 0.0;
};

// Fills sizes, overlaps and cold fractions; the caller fills strategy, seed, ratios and timing.
SplitStats compute_split_stats(const SplitKeys& keys, const SplitAssignment& assignment);
// Fields in the documented order (strategy first, seconds last).
nlohmann::ordered_json split_stats_to_json(const SplitStats& stats);
// A compact, aligned table of the parts for the log (one line per part plus a header).
std::vector<std::string> format_split_table(const SplitStats& stats);

// ---- the step (split.cpp) ----

struct SplitRequest {
  std::optional<int64_t> sample_n;  // --sample-n; falls back to data.sample_size
};

// Reads data.processed_interactions_path and data.processed_item_info_path, splits, and writes
// train/val/test, user_map.csv, item_map.csv, split_stats.json and split_config.yaml.
SplitStats run_split(const Config& config, const SplitRequest& request);

}  // namespace pixelrec
