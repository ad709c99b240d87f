#include "features/shard_plan.h"

#include <algorithm>

#include "core/errors.h"

namespace pixelrec::features {

int ShardPlan::rank_of(uint32_t item) const {
  // Shards are sorted and contiguous: binary search on their ends.
  auto it = std::upper_bound(shards.begin(), shards.end(), item,
                             [](uint32_t v, const ItemRange& r) { return v < r.end; });
  PIXELREC_CHECK(it != shards.end(), "item index outside the shard plan");
  return static_cast<int>(it - shards.begin());
}

ShardPlan make_shard_plan(const std::vector<int64_t>& weights, int world) {
  PIXELREC_CHECK(world >= 1, "world size must be >= 1");
  const size_t n = weights.size();
  std::vector<int64_t> cumulative(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    PIXELREC_CHECK(weights[i] >= 0, "negative item weight");
    cumulative[i + 1] = cumulative[i] + weights[i] + 1;
  }
  const int64_t total = cumulative[n];
  ShardPlan plan;
  plan.shards.resize(static_cast<size_t>(world));
  plan.load.resize(static_cast<size_t>(world));
  size_t begin = 0;
  for (int r = 0; r < world; ++r) {
    size_t end = n;
    if (r + 1 < world) {
      // The boundary whose cumulative weight is closest to (r+1)/world of the total.
      const int64_t target = total * (r + 1) / world;
      end = static_cast<size_t>(std::lower_bound(cumulative.begin() + static_cast<long>(begin),
                                                 cumulative.end(), target) -
                                cumulative.begin());
      if (end > begin && end <= n && target - cumulative[end - 1] < cumulative[end] - target) --end;
      end = std::clamp(end, begin, n);
    }
    plan.shards[static_cast<size_t>(r)] = {static_cast<uint32_t>(begin),
                                           static_cast<uint32_t>(end)};
    plan.load[static_cast<size_t>(r)] = cumulative[end] - cumulative[begin];
    begin = end;
  }
  return plan;
}

}  // namespace pixelrec::features
