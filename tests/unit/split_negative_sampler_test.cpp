// Per-epoch negative sampling: draw frequencies follow the three weightings, exclusions hold,
// results depend on (seed, epoch, rank) but not on threads, fractional ratios, the fallback for
// users who exclude almost everything, and buffer reuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/errors.h"
#include "data/negative_sampler.h"

namespace pixelrec {
namespace {

// Interactions from (user, item) pairs.
IndexedInteractions interactions(const std::vector<std::pair<uint32_t, uint32_t>>& pairs) {
  IndexedInteractions out;
  for (const auto& [user, item] : pairs) {
    out.user.push_back(user);
    out.item.push_back(item);
    out.timestamp.push_back(0);
  }
  return out;
}

std::vector<uint32_t> iota_items(uint32_t n) {
  std::vector<uint32_t> items(n);
  std::iota(items.begin(), items.end(), 0u);
  return items;
}

// Pearson's chi-square of observed counts against expected probabilities (over the cells with
// probability > 0; a draw in a cell of probability 0 makes it infinite).
double chi_square(const std::vector<size_t>& observed, const std::vector<double>& probability) {
  const double total = double(std::accumulate(observed.begin(), observed.end(), size_t(0)));
  double chi2 = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    if (probability[i] == 0) {
      if (observed[i] > 0) return INFINITY;
      continue;
    }
    const double expected = total * probability[i];
    chi2 += (double(observed[i]) - expected) * (double(observed[i]) - expected) / expected;
  }
  return chi2;
}

// 10 items with counts 1..10; user 0 has no training items, user 1 has items 0, 5 and 9.
struct TenItems {
  std::vector<int64_t> counts = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  UserItemIndex exclude{2, interactions({{1, 0}, {1, 5}, {1, 9}})};
};

std::vector<size_t> item_histogram(const NegativeDraw& draw, size_t items) {
  std::vector<size_t> histogram(items, 0);
  for (uint32_t item : draw.item) ++histogram.at(item);
  return histogram;
}

// Chi-square critical value for 9 degrees of freedom at p = 1e-6 is about 42.
constexpr double kChiSquare9Dof = 42.0;

TEST(NegativeSampler, FrequenciesFollowEachWeighting) {
  const TenItems data;
  const std::vector<uint32_t> users(20000, 0);
  for (auto strategy : {NegativeStrategy::kRandom, NegativeStrategy::kPopularity,
                        NegativeStrategy::kPopularityInverse}) {
    std::vector<double> weight(10);
    for (size_t i = 0; i < 10; ++i) {
      const double count = double(data.counts[i]);
      weight[i] = strategy == NegativeStrategy::kRandom       ? 1.0
                  : strategy == NegativeStrategy::kPopularity ? count
                                                              : 1.0 / count;
    }
    const double total = std::accumulate(weight.begin(), weight.end(), 0.0);
    std::vector<double> probability(10);
    for (size_t i = 0; i < 10; ++i) probability[i] = weight[i] / total;

    const NegativeSampler sampler(strategy, iota_items(10), data.counts, data.exclude);
    for (size_t k = 0; k < 10; ++k) EXPECT_NEAR(sampler.probability(k), probability[k], 1e-15);
    const NegativeDraw draw = sampler.sample(users.data(), users.size(), 5.0, 7, 0, 0, 2);
    ASSERT_EQ(draw.size(), 100000u);
    EXPECT_LT(chi_square(item_histogram(draw, 10), probability), kChiSquare9Dof)
        << "strategy " << int(strategy);
    // A wrong weighting is far outside the bound: uniform expectations against popularity draws.
    if (strategy == NegativeStrategy::kPopularity) {
      EXPECT_GT(chi_square(item_histogram(draw, 10), std::vector<double>(10, 0.1)), 1000.0);
    }
  }
}

TEST(NegativeSampler, ExcludedItemsAreNeverDrawnAndTheRestKeepTheirRelativeWeights) {
  const TenItems data;
  const std::vector<uint32_t> users(20000, 1);  // excludes 0, 5, 9
  const NegativeSampler sampler(NegativeStrategy::kPopularity, iota_items(10), data.counts,
                                data.exclude);
  const NegativeDraw draw = sampler.sample(users.data(), users.size(), 3.0, 11, 2, 0, 2);
  ASSERT_EQ(draw.size(), 60000u);
  EXPECT_EQ(draw.skipped, 0u);
  std::vector<double> probability(10, 0.0);
  const double remaining = 2 + 3 + 4 + 5 + 7 + 8 + 9;  // counts of items 1-4, 6-8
  for (uint32_t item : {1u, 2u, 3u, 4u, 6u, 7u, 8u})
    probability[item] = data.counts[item] / remaining;
  const double chi2 = chi_square(item_histogram(draw, 10), probability);
  EXPECT_LT(chi2, 35.0);  // 6 degrees of freedom: p(chi2 > 35) < 5e-6
}

TEST(NegativeSampler, ManyUsersWithLargeExclusionsNeverGetTheirOwnItems) {
  // 300 users over 200 items; user u interacted with every item i where (i * 7 + u) % 5 != 0
  // (80% of the catalogue) or, for u % 3 == 0, the first 150 items.
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  for (uint32_t u = 0; u < 300; ++u)
    for (uint32_t i = 0; i < 200; ++i)
      if (u % 3 == 0 ? i < 150 : (i * 7 + u) % 5 != 0) pairs.emplace_back(u, i);
  const IndexedInteractions train = interactions(pairs);
  const UserItemIndex exclude(300, train);
  std::vector<int64_t> counts(200, 0);
  for (uint32_t item : train.item) ++counts[item];
  for (auto strategy : {NegativeStrategy::kRandom, NegativeStrategy::kPopularity,
                        NegativeStrategy::kPopularityInverse}) {
    const NegativeSampler sampler(strategy, iota_items(200), counts, exclude);
    const NegativeDraw draw = sampler.sample(train.user.data(), 20000, 2.0, 3, 1, 0, 2);
    ASSERT_EQ(draw.size(), 40000u);
    EXPECT_EQ(draw.skipped, 0u);
    for (size_t n = 0; n < draw.size(); ++n) {
      ASSERT_EQ(draw.user[n], train.user[draw.positive[n]]);
      ASSERT_FALSE(exclude.contains(draw.user[n], draw.item[n]))
          << "user " << draw.user[n] << " item " << draw.item[n];
    }
  }
}

TEST(NegativeSampler, ResultsDoNotDependOnThreadsButOnSeedEpochAndRank) {
  const TenItems data;
  std::vector<uint32_t> users;
  for (size_t p = 0; p < 3 * NegativeSampler::kChunkSize + 123; ++p) users.push_back(p % 2);
  const NegativeSampler sampler(NegativeStrategy::kPopularityInverse, iota_items(10), data.counts,
                                data.exclude);
  auto draw = [&](uint64_t seed, uint64_t epoch, uint64_t rank, int threads) {
    return sampler.sample(users.data(), users.size(), 2.5, seed, epoch, rank, threads);
  };
  const NegativeDraw one = draw(42, 3, 1, 1);
  const NegativeDraw four = draw(42, 3, 1, 4);
  EXPECT_EQ(one.item, four.item);
  EXPECT_EQ(one.user, four.user);
  EXPECT_EQ(one.positive, four.positive);
  EXPECT_EQ(draw(42, 3, 1, 3).item, one.item);
  EXPECT_NE(draw(42, 4, 1, 1).item, one.item);  // another epoch
  EXPECT_NE(draw(42, 3, 0, 1).item, one.item);  // another rank
  EXPECT_NE(draw(43, 3, 1, 1).item, one.item);  // another seed
}

TEST(NegativeSampler, IntegerRatioGivesExactlyThatManyPerPositiveInPositiveOrder) {
  const TenItems data;
  const std::vector<uint32_t> users = {0, 1, 1, 0, 1};
  const NegativeSampler sampler(NegativeStrategy::kRandom, iota_items(10), data.counts,
                                data.exclude);
  const NegativeDraw draw = sampler.sample(users.data(), users.size(), 3.0, 1, 0, 0, 1);
  EXPECT_EQ(draw.positive, (std::vector<uint32_t>{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}));
  EXPECT_EQ(draw.user, (std::vector<uint32_t>{0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1}));
  EXPECT_TRUE(sampler.sample(users.data(), users.size(), 0.0, 1, 0, 0, 1).item.empty());
}

TEST(NegativeSampler, FractionalRatioDrawsTheExpectedNumber) {
  const TenItems data;
  const std::vector<uint32_t> users(100000, 0);
  const NegativeSampler sampler(NegativeStrategy::kRandom, iota_items(10), data.counts,
                                data.exclude);
  // ratio 0.3: Binomial(100000, 0.3), sd ~145.
  const NegativeDraw low = sampler.sample(users.data(), users.size(), 0.3, 5, 0, 0, 2);
  EXPECT_NEAR(double(low.size()), 30000.0, 725.0);
  // ratio 2.25: every positive gets 2 or 3; 225000 expected, sd ~137.
  const NegativeDraw high = sampler.sample(users.data(), users.size(), 2.25, 5, 0, 0, 2);
  EXPECT_NEAR(double(high.size()), 225000.0, 700.0);
  std::vector<uint32_t> per_positive(users.size(), 0);
  for (uint32_t p : high.positive) ++per_positive[p];
  EXPECT_EQ(*std::min_element(per_positive.begin(), per_positive.end()), 2u);
  EXPECT_EQ(*std::max_element(per_positive.begin(), per_positive.end()), 3u);
  EXPECT_TRUE(std::is_sorted(high.positive.begin(), high.positive.end()));
}

TEST(NegativeSampler, UsersWithAlmostEveryCandidateUseTheWeightedFallback) {
  // 1000 items; user 0 has all but items 10 and 700; user 1 has every item.
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  for (uint32_t i = 0; i < 1000; ++i) {
    if (i != 10 && i != 700) pairs.emplace_back(0, i);
    pairs.emplace_back(1, i);
  }
  const UserItemIndex exclude(2, interactions(pairs));
  std::vector<int64_t> counts(1000, 5);
  counts[10] = 1;
  counts[700] = 3;
  const NegativeSampler sampler(NegativeStrategy::kPopularity, iota_items(1000), counts, exclude);
  const std::vector<uint32_t> users(4000, 0);
  const NegativeDraw draw = sampler.sample(users.data(), users.size(), 1.0, 9, 0, 0, 2);
  ASSERT_EQ(draw.size(), 4000u);
  EXPECT_EQ(draw.skipped, 0u);
  const size_t hits_700 = size_t(std::count(draw.item.begin(), draw.item.end(), 700u));
  EXPECT_EQ(size_t(std::count(draw.item.begin(), draw.item.end(), 10u)) + hits_700, 4000u);
  EXPECT_NEAR(double(hits_700), 3000.0, 140.0);  // weight 3 of 4; sd ~27

  const std::vector<uint32_t> full = {1, 0, 1, 1};
  const NegativeDraw skipped = sampler.sample(full.data(), full.size(), 2.0, 9, 0, 0, 1);
  EXPECT_EQ(skipped.skipped, 6u);  // 3 positives of user 1 × 2 negatives
  EXPECT_EQ(skipped.positive, (std::vector<uint32_t>{1, 1}));
  for (uint32_t item : skipped.item) EXPECT_TRUE(item == 10u || item == 700u);
}

TEST(NegativeSampler, DrawsOnlyFromTheGivenCandidatesAndDropsZeroWeightOnes) {
  const TenItems data;
  std::vector<int64_t> counts = data.counts;
  counts[4] = 0;  // never in training: no popularity weight
  const NegativeSampler sampler(NegativeStrategy::kPopularity, {8, 4, 2, 6, 2}, counts,
                                data.exclude);
  EXPECT_EQ(sampler.candidates(), (std::vector<uint32_t>{2, 6, 8}));
  const std::vector<uint32_t> users(2000, 0);
  const NegativeDraw draw = sampler.sample(users.data(), users.size(), 1.0, 1, 0, 0, 1);
  const auto histogram = item_histogram(draw, 10);
  EXPECT_EQ(histogram[2] + histogram[6] + histogram[8], 2000u);
  EXPECT_GT(histogram[8], histogram[2]);

  const NegativeSampler inverse(NegativeStrategy::kPopularityInverse, {4}, counts, data.exclude);
  EXPECT_EQ(inverse.candidates(), (std::vector<uint32_t>{4}));  // 1 / max(0, 1) = 1
  try {
    NegativeSampler none(NegativeStrategy::kPopularity, {4}, counts, data.exclude);
    FAIL() << "no error when every candidate has popularity 0";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("negative_sampling_strategy"), std::string::npos);
  }
}

TEST(NegativeSampler, SampleIntoReusesTheCallersBuffers) {
  const TenItems data;
  std::vector<uint32_t> users;
  for (size_t p = 0; p < 2 * NegativeSampler::kChunkSize + 7; ++p) users.push_back(p % 2);
  const NegativeSampler sampler(NegativeStrategy::kPopularity, iota_items(10), data.counts,
                                data.exclude);
  NegativeDraw buffers;
  sampler.sample_into(users.data(), users.size(), 1.5, 4, 0, 0, 2, buffers);
  const uint32_t* item_data = buffers.item.data();
  const uint32_t* positive_data = buffers.positive.data();
  sampler.sample_into(users.data(), users.size(), 1.5, 4, 1, 0, 2, buffers);
  EXPECT_EQ(buffers.item.data(), item_data);  // no reallocation for the next epoch
  EXPECT_EQ(buffers.positive.data(), positive_data);
  const NegativeDraw fresh = sampler.sample(users.data(), users.size(), 1.5, 4, 1, 0, 1);
  EXPECT_EQ(buffers.item, fresh.item);
  EXPECT_EQ(buffers.positive, fresh.positive);
  EXPECT_EQ(buffers.skipped, fresh.skipped);
}

TEST(NegativeSampler, BadStrategyNameAndRatioAreConfigErrors) {
  EXPECT_EQ(parse_negative_strategy("random"), NegativeStrategy::kRandom);
  EXPECT_EQ(parse_negative_strategy("popularity"), NegativeStrategy::kPopularity);
  EXPECT_EQ(parse_negative_strategy("popularity_inverse"), NegativeStrategy::kPopularityInverse);
  try {
    parse_negative_strategy("hard");
    FAIL() << "no error for 'hard'";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("data.negative_sampling_strategy"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'hard'"), std::string::npos);
  }
  const TenItems data;
  const NegativeSampler sampler(NegativeStrategy::kRandom, iota_items(10), data.counts,
                                data.exclude);
  const uint32_t user = 0;
  EXPECT_THROW(sampler.sample(&user, 1, -1.0, 0, 0, 0, 1), ConfigError);
  EXPECT_THROW(sampler.sample(&user, 1, NAN, 0, 0, 0, 1), ConfigError);
  const uint32_t unknown_user = 5;
  EXPECT_THROW(sampler.sample(&unknown_user, 1, 1.0, 0, 0, 0, 1), InternalError);
}

}  // namespace
}  // namespace pixelrec

namespace pixelrec {
namespace {

TEST(ShardWeights, PositivesPlusExpectedNegativesInEighthsOfAPair) {
  // 4 items, 16 positives; item 1 is not a candidate (no training interactions); ratio 2 gives 32
  // negatives.
  const std::vector<int64_t> counts = {10, 0, 5, 1};
  const std::vector<uint32_t> candidates = {0, 2, 3};
  // random: each candidate draws a third of the negatives.
  EXPECT_EQ(
      shard_weights(NegativeStrategy::kRandom, candidates, counts, 2.0),
      (std::vector<int64_t>{std::llround(8 * (10 + 32.0 / 3)), 0, std::llround(8 * (5 + 32.0 / 3)),
                            std::llround(8 * (1 + 32.0 / 3))}));
  // popularity: negatives in proportion to positives, so every item has (1 + ratio) × positives.
  EXPECT_EQ(shard_weights(NegativeStrategy::kPopularity, candidates, counts, 2.0),
            (std::vector<int64_t>{240, 0, 120, 24}));
  // popularity_inverse: weights 1/10, 1/5, 1 of 1.3 in all.
  const auto inverse = shard_weights(NegativeStrategy::kPopularityInverse, candidates, counts, 2.0);
  EXPECT_EQ(inverse[3], std::llround(8 * (1 + 32.0 * 1.0 / 1.3)));
  EXPECT_EQ(inverse[0], std::llround(8 * (10 + 32.0 * 0.1 / 1.3)));
  // No negatives: the positives alone.
  EXPECT_EQ(shard_weights(NegativeStrategy::kRandom, candidates, counts, 0.0),
            (std::vector<int64_t>{80, 0, 40, 8}));
}

}  // namespace
}  // namespace pixelrec
