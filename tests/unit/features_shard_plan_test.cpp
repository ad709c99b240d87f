// Shard plans: every item in exactly one shard for N = 1..5, contiguous, balanced by weight.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "core/rng.h"
#include "features/shard_plan.h"

namespace pixelrec::features {
namespace {

std::vector<int64_t> zipf_weights(size_t n) {
  Rng rng(3);
  std::vector<int64_t> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = static_cast<int64_t>(1000.0 / (1.0 + static_cast<double>(rng.below(n))));
  return w;
}

TEST(ShardPlan, CoversEveryItemExactlyOnceAndIsBalanced) {
  const auto weights = zipf_weights(5000);
  const int64_t total = std::accumulate(weights.begin(), weights.end(), int64_t{0}) +
                        static_cast<int64_t>(weights.size());
  const int64_t heaviest = *std::max_element(weights.begin(), weights.end()) + 1;
  for (int world = 1; world <= 5; ++world) {
    const ShardPlan plan = make_shard_plan(weights, world);
    ASSERT_EQ(plan.shards.size(), static_cast<size_t>(world));
    std::vector<int> owner(weights.size(), -1);
    uint32_t expected_begin = 0;
    for (int r = 0; r < world; ++r) {
      const ItemRange& s = plan.shards[static_cast<size_t>(r)];
      EXPECT_EQ(s.begin, expected_begin) << "world " << world << " rank " << r;
      expected_begin = s.end;
      int64_t load = 0;
      for (uint32_t i = s.begin; i < s.end; ++i) {
        EXPECT_EQ(owner[i], -1);
        owner[i] = r;
        load += weights[i] + 1;
        EXPECT_EQ(plan.rank_of(i), r);
      }
      EXPECT_EQ(load, plan.load[static_cast<size_t>(r)]);
      EXPECT_LE(std::abs(load - total / world), heaviest) << "world " << world << " rank " << r;
    }
    EXPECT_EQ(expected_begin, weights.size());
    EXPECT_EQ(std::count(owner.begin(), owner.end(), -1), 0);
  }
}

TEST(ShardPlan, IsDeterministicAndHandlesMoreRanksThanItems) {
  const std::vector<int64_t> weights = {5, 0, 3};
  const ShardPlan a = make_shard_plan(weights, 2);
  const ShardPlan b = make_shard_plan(weights, 2);
  ASSERT_EQ(a.shards.size(), 2u);
  EXPECT_EQ(a.shards[0].end, b.shards[0].end);
  EXPECT_EQ(a.shards[0].begin, 0u);
  EXPECT_EQ(a.shards[0].end, 1u);  // item 0 weighs 6 of 11
  EXPECT_EQ(a.shards[1].end, 3u);
  const ShardPlan wide = make_shard_plan(weights, 5);
  uint32_t covered = 0;
  for (const auto& s : wide.shards) covered += s.size();
  EXPECT_EQ(covered, 3u);
}

}  // namespace
}  // namespace pixelrec::features
