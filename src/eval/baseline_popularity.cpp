// The popularity baseline: training interaction counts (never validation or test data).
#include <algorithm>

#include "eval/baselines.h"

namespace pixelrec::eval {

PopularityScorer::PopularityScorer(const SplitData& split) {
  const std::vector<int64_t> counts = split.train_item_counts();
  counts_.assign(counts.begin(), counts.end());
}

void PopularityScorer::score_block(const uint32_t* /*users*/, size_t num_users,
                                   const uint32_t* items, size_t num_items, float* out) {
  if (num_users == 0) return;
  for (size_t j = 0; j < num_items; ++j) out[j] = counts_[items[j]];
  for (size_t u = 1; u < num_users; ++u) std::copy(out, out + num_items, out + u * num_items);
}

void PopularityScorer::score_pairs(const uint32_t* /*users*/, const uint32_t* items, size_t count,
                                   float* out) {
  for (size_t p = 0; p < count; ++p) out[p] = counts_[items[p]];
}

}  // namespace pixelrec::eval
