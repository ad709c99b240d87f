#include "data/activity_filter.h"

#include "core/errors.h"

namespace pixelrec {

namespace {

void count_kept(const std::vector<uint32_t>& keys, const std::vector<bool>& keep, size_t key_count,
                std::vector<uint32_t>& counts) {
  counts.assign(key_count, 0);
  for (size_t i = 0; i < keys.size(); ++i)
    if (keep[i]) ++counts[keys[i]];
}

size_t count_nonzero(const std::vector<uint32_t>& counts) {
  size_t n = 0;
  for (uint32_t c : counts) n += c > 0 ? 1 : 0;
  return n;
}

}  // namespace

ActivityFilterResult filter_by_activity(const std::vector<uint32_t>& users,
                                        const std::vector<uint32_t>& items, size_t user_count,
                                        size_t item_count, int min_per_user, int min_per_item) {
  PIXELREC_CHECK(users.size() == items.size(), "one user and one item per interaction");
  ActivityFilterResult result;
  result.keep.assign(users.size(), true);
  const auto user_min = static_cast<uint32_t>(min_per_user > 0 ? min_per_user : 0);
  const auto item_min = static_cast<uint32_t>(min_per_item > 0 ? min_per_item : 0);
  std::vector<uint32_t> user_counts, item_counts;
  count_kept(users, result.keep, user_count, user_counts);
  count_kept(items, result.keep, item_count, item_counts);
  const size_t users_before = count_nonzero(user_counts);
  const size_t items_before = count_nonzero(item_counts);
  if (user_min <= 1 && item_min <= 1) return result;

  // Each round judges every interaction against the counts of the previous round, so a round
  // is one well-defined pass; the fixed point is the same whatever the order.
  while (true) {
    size_t removed = 0;
    for (size_t i = 0; i < users.size(); ++i) {
      if (result.keep[i] &&
          (user_counts[users[i]] < user_min || item_counts[items[i]] < item_min)) {
        result.keep[i] = false;
        ++removed;
      }
    }
    if (removed == 0) break;
    ++result.rounds;
    result.removed_interactions += removed;
    count_kept(users, result.keep, user_count, user_counts);
    count_kept(items, result.keep, item_count, item_counts);
  }
  result.removed_users = users_before - count_nonzero(user_counts);
  result.removed_items = items_before - count_nonzero(item_counts);
  return result;
}

}  // namespace pixelrec
