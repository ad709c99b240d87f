// The activity filter of preprocess (SPEC §3 step 5): drops interactions of users and items with
// too few interactions, repeated until nothing changes (a k-core). Works on dense indices so the
// caller can map string ids once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pixelrec {

struct ActivityFilterResult {
  std::vector<bool> keep;  // one flag per interaction
  int rounds = 0;          // passes that removed at least one interaction
  size_t removed_interactions = 0;
  size_t removed_users = 0;  // users who had interactions and have none left
  size_t removed_items = 0;  // items that had interactions and have none left
};

// `users[i]` and `items[i]` are the dense indices (< user_count / item_count) of interaction i.
// A minimum of 0 or 1 disables that side. The result is the unique maximal subset in which every
// user has >= min_per_user and every item >= min_per_item interactions.
ActivityFilterResult filter_by_activity(const std::vector<uint32_t>& users,
                                        const std::vector<uint32_t>& items, size_t user_count,
                                        size_t item_count, int min_per_user, int min_per_item);

}  // namespace pixelrec
