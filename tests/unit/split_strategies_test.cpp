// The nine split strategies on generated in-memory data: coverage, ratios, determinism and each
// strategy's own promise (SPEC §4).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "core/errors.h"
#include "core/rng.h"
#include "data/split.h"

namespace pixelrec {
namespace {

constexpr SplitStrategy kAllStrategies[] = {SplitStrategy::kLeaveOneOut,
                                            SplitStrategy::kTemporal,
                                            SplitStrategy::kUserTemporal,
                                            SplitStrategy::kRandom,
                                            SplitStrategy::kStratified,
                                            SplitStrategy::kStratifiedByColumn,
                                            SplitStrategy::kStratifiedTemporal,
                                            SplitStrategy::kUser,
                                            SplitStrategy::kItem};

// 200 users × 1..40 interactions (every tenth user has only 1-3) over 300 items with a skewed
// popularity; timestamps come in 100-second bins so there are many ties; stratum = item % 7.
SplitKeys generated_keys(uint64_t seed = 7) {
  SplitKeys keys;
  keys.user_count = 200;
  keys.item_count = 300;
  keys.stratum_count = 7;
  Rng rng(seed);
  for (uint32_t u = 0; u < keys.user_count; ++u) {
    const uint64_t n = u % 10 == 0 ? 1 + u % 3 : 10 + rng.below(31);
    const int64_t start = 1'600'000'000 + static_cast<int64_t>(rng.below(1'000'000));
    for (uint64_t k = 0; k < n; ++k) {
      const auto item = static_cast<uint32_t>(rng.below(keys.item_count) * rng.uniform());
      keys.user.push_back(u);
      keys.item.push_back(item);
      keys.stratum.push_back(item % 7);
      keys.timestamp.push_back(start + static_cast<int64_t>(rng.below(100)) * 100);
    }
  }
  // Interleave users like a real log: shuffle the rows (keys stay aligned).
  std::vector<size_t> order(keys.rows());
  std::iota(order.begin(), order.end(), size_t{0});
  rng.shuffle(order);
  SplitKeys shuffled = keys;
  for (size_t r = 0; r < order.size(); ++r) {
    shuffled.user[r] = keys.user[order[r]];
    shuffled.item[r] = keys.item[order[r]];
    shuffled.stratum[r] = keys.stratum[order[r]];
    shuffled.timestamp[r] = keys.timestamp[order[r]];
  }
  return shuffled;
}

std::array<std::vector<size_t>, kSplitPartCount> rows_by_part(const SplitAssignment& a) {
  std::array<std::vector<size_t>, kSplitPartCount> rows;
  for (size_t r = 0; r < a.part.size(); ++r) rows[static_cast<size_t>(a.part[r])].push_back(r);
  return rows;
}

double fraction(const SplitAssignment& a, SplitPart part) {
  return static_cast<double>(std::count(a.part.begin(), a.part.end(), part)) /
         static_cast<double>(a.part.size());
}

class EveryStrategy : public ::testing::TestWithParam<SplitStrategy> {};

TEST_P(EveryStrategy, PartsAreDisjointAndTheirUnionIsTheInput) {
  const SplitKeys keys = generated_keys();
  const SplitAssignment a = assign_split(GetParam(), keys, {0.8, 0.1, 0.1}, 42);
  std::vector<size_t> all;
  for (const auto& rows : rows_by_part(a)) {
    EXPECT_FALSE(rows.empty());
    all.insert(all.end(), rows.begin(), rows.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<size_t> expected(keys.rows());
  std::iota(expected.begin(), expected.end(), size_t{0});
  EXPECT_EQ(all, expected);
}

TEST_P(EveryStrategy, OutputPassesTheLeakageCheck) {
  const SplitKeys keys = generated_keys();
  const SplitAssignment a = assign_split(GetParam(), keys, {0.7, 0.15, 0.15}, 3);
  EXPECT_EQ(find_split_violations(GetParam(), keys, a), std::vector<std::string>{});
}

TEST_P(EveryStrategy, SameSeedGivesIdenticalParts) {
  const SplitKeys keys = generated_keys();
  EXPECT_EQ(assign_split(GetParam(), keys, {0.8, 0.1, 0.1}, 42).part,
            assign_split(GetParam(), keys, {0.8, 0.1, 0.1}, 42).part);
}

INSTANTIATE_TEST_SUITE_P(SplitStrategies, EveryStrategy, ::testing::ValuesIn(kAllStrategies),
                         [](const auto& info) {
                           return std::string(split_strategy_name(info.param));
                         });

// Every strategy except leave_one_out, which ignores the ratios.
class RatioStrategy : public ::testing::TestWithParam<SplitStrategy> {};

TEST_P(RatioStrategy, LandsWithinTwoPointsOfTheRatios) {
  const SplitKeys keys = generated_keys();
  ASSERT_GT(keys.rows(), 4000u);
  for (const SplitRatios& ratios : {SplitRatios{0.8, 0.1, 0.1}, SplitRatios{0.6, 0.25, 0.15}}) {
    const SplitAssignment a = assign_split(GetParam(), keys, ratios, 11);
    EXPECT_NEAR(fraction(a, SplitPart::kTrain), ratios.train, 0.02);
    EXPECT_NEAR(fraction(a, SplitPart::kVal), ratios.val, 0.02);
    EXPECT_NEAR(fraction(a, SplitPart::kTest), ratios.test, 0.02);
  }
}

INSTANTIATE_TEST_SUITE_P(SplitStrategies, RatioStrategy,
                         ::testing::Values(SplitStrategy::kTemporal, SplitStrategy::kUserTemporal,
                                           SplitStrategy::kRandom, SplitStrategy::kStratified,
                                           SplitStrategy::kStratifiedByColumn,
                                           SplitStrategy::kStratifiedTemporal, SplitStrategy::kUser,
                                           SplitStrategy::kItem),
                         [](const auto& info) {
                           return std::string(split_strategy_name(info.param));
                         });

class RandomStrategy : public ::testing::TestWithParam<SplitStrategy> {};

TEST_P(RandomStrategy, DifferentSeedsGiveDifferentParts) {
  const SplitKeys keys = generated_keys();
  EXPECT_NE(assign_split(GetParam(), keys, {0.8, 0.1, 0.1}, 42).part,
            assign_split(GetParam(), keys, {0.8, 0.1, 0.1}, 43).part);
}

INSTANTIATE_TEST_SUITE_P(SplitStrategies, RandomStrategy,
                         ::testing::Values(SplitStrategy::kRandom, SplitStrategy::kStratified,
                                           SplitStrategy::kStratifiedByColumn, SplitStrategy::kUser,
                                           SplitStrategy::kItem),
                         [](const auto& info) {
                           return std::string(split_strategy_name(info.param));
                         });

TEST(LeaveOneOut, TestIsEachUsersLastEventAndValTheSecondLast) {
  const SplitKeys keys = generated_keys();
  const SplitAssignment a = assign_split(SplitStrategy::kLeaveOneOut, keys, {}, 42);
  std::map<uint32_t, std::vector<size_t>> by_user;  // rows in (timestamp, input order)
  for (size_t r = 0; r < keys.rows(); ++r) by_user[keys.user[r]].push_back(r);
  size_t too_few = 0;
  for (auto& [user, rows] : by_user) {
    std::stable_sort(rows.begin(), rows.end(),
                     [&](size_t x, size_t y) { return keys.timestamp[x] < keys.timestamp[y]; });
    if (rows.size() < 3) {
      ++too_few;
      for (size_t r : rows) EXPECT_EQ(a.part[r], SplitPart::kTrain) << "user " << user;
      continue;
    }
    EXPECT_EQ(a.part[rows.back()], SplitPart::kTest) << "user " << user;
    EXPECT_EQ(a.part[rows[rows.size() - 2]], SplitPart::kVal) << "user " << user;
    for (size_t i = 0; i + 2 < rows.size(); ++i)
      EXPECT_EQ(a.part[rows[i]], SplitPart::kTrain) << "user " << user;
  }
  EXPECT_EQ(too_few, 14u);  // of users 0, 10, ..., 190 (1-3 rows each), 14 have fewer than 3
  EXPECT_EQ(a.users_with_too_few_interactions, too_few);
}

TEST(LeaveOneOut, TiesAreBrokenByInputOrder) {
  SplitKeys keys;
  keys.user = {0, 0, 0, 0};
  keys.item = {0, 1, 2, 3};
  keys.timestamp = {5, 9, 9, 1};
  keys.user_count = 1;
  keys.item_count = 4;
  const SplitAssignment a = assign_split(SplitStrategy::kLeaveOneOut, keys, {}, 1);
  EXPECT_EQ(a.part, (std::vector<SplitPart>{SplitPart::kTrain, SplitPart::kVal, SplitPart::kTest,
                                            SplitPart::kTrain}));
}

TEST(Temporal, EveryTrainEventPrecedesEveryValEventWhichPrecedesEveryTestEvent) {
  const SplitKeys keys = generated_keys();
  const SplitAssignment a = assign_split(SplitStrategy::kTemporal, keys, {0.8, 0.1, 0.1}, 42);
  std::array<int64_t, 3> lo{INT64_MAX, INT64_MAX, INT64_MAX}, hi{INT64_MIN, INT64_MIN, INT64_MIN};
  for (size_t r = 0; r < keys.rows(); ++r) {
    const auto p = static_cast<size_t>(a.part[r]);
    lo[p] = std::min(lo[p], keys.timestamp[r]);
    hi[p] = std::max(hi[p], keys.timestamp[r]);
  }
  EXPECT_LT(hi[0], lo[1]);
  EXPECT_LT(hi[1], lo[2]);
}

TEST(Temporal, CutsMoveToTheNearestTimestampChange) {
  // Time order: 1 2 3 4 5 6 7 7 10 12. The 70% cut (after 7 rows) falls inside the tie at t=7;
  // both changes are one row away and the earlier wins: train gets 1-6, val both 7s, test the rest.
  SplitKeys keys;
  keys.timestamp = {1, 2, 3, 4, 5, 6, 10, 7, 7, 12};
  keys.user.assign(10, 0);
  keys.item = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  keys.user_count = 1;
  keys.item_count = 10;
  const SplitAssignment a = assign_split(SplitStrategy::kTemporal, keys, {0.7, 0.1, 0.2}, 1);
  using P = SplitPart;
  EXPECT_EQ(a.part, (std::vector<P>{P::kTrain, P::kTrain, P::kTrain, P::kTrain, P::kTrain,
                                    P::kTrain, P::kTest, P::kVal, P::kVal, P::kTest}));
}

TEST(UserTemporal, EachUsersEarliestShareIsTrainThenValThenTest) {
  SplitKeys keys;  // one user, ten events given newest first
  for (int64_t t = 10; t >= 1; --t) {
    keys.user.push_back(0);
    keys.item.push_back(static_cast<uint32_t>(t - 1));
    keys.timestamp.push_back(t);
  }
  keys.user_count = 1;
  keys.item_count = 10;
  const SplitAssignment a = assign_split(SplitStrategy::kUserTemporal, keys, {0.6, 0.2, 0.2}, 9);
  using P = SplitPart;
  EXPECT_EQ(a.part, (std::vector<P>{P::kTest, P::kTest, P::kVal, P::kVal, P::kTrain, P::kTrain,
                                    P::kTrain, P::kTrain, P::kTrain, P::kTrain}));
}

TEST(User, NoUserIsInTwoParts) {
  const SplitKeys keys = generated_keys();
  const SplitAssignment a = assign_split(SplitStrategy::kUser, keys, {0.8, 0.1, 0.1}, 42);
  std::vector<std::set<SplitPart>> parts(keys.user_count);
  for (size_t r = 0; r < keys.rows(); ++r) parts[keys.user[r]].insert(a.part[r]);
  for (uint32_t u = 0; u < keys.user_count; ++u) EXPECT_EQ(parts[u].size(), 1u) << "user " << u;
}

TEST(Item, NoValOrTestItemOccursInTrain) {
  const SplitKeys keys = generated_keys();
  const SplitAssignment a = assign_split(SplitStrategy::kItem, keys, {0.8, 0.1, 0.1}, 42);
  std::set<uint32_t> train_items;
  for (size_t r = 0; r < keys.rows(); ++r)
    if (a.part[r] == SplitPart::kTrain) train_items.insert(keys.item[r]);
  size_t held_out = 0;
  for (size_t r = 0; r < keys.rows(); ++r) {
    if (a.part[r] == SplitPart::kTrain) continue;
    ++held_out;
    EXPECT_EQ(train_items.count(keys.item[r]), 0u) << "row " << r;
  }
  EXPECT_GT(held_out, 0u);
}

TEST(PerGroupStrategies, ThousandsOfOneRowGroupsStillMatchTheGlobalRatios) {
  // 5000 users with one interaction each: naive per-user rounding would put everything in train.
  SplitKeys keys;
  for (uint32_t u = 0; u < 5000; ++u) {
    keys.user.push_back(u);
    keys.item.push_back(u % 50);
    keys.timestamp.push_back(u);
  }
  keys.user_count = 5000;
  keys.item_count = 50;
  for (SplitStrategy s : {SplitStrategy::kStratified, SplitStrategy::kUserTemporal}) {
    const SplitAssignment a = assign_split(s, keys, {0.8, 0.1, 0.1}, 5);
    EXPECT_NEAR(fraction(a, SplitPart::kTrain), 0.8, 0.02) << split_strategy_name(s);
    EXPECT_NEAR(fraction(a, SplitPart::kVal), 0.1, 0.02) << split_strategy_name(s);
    EXPECT_NEAR(fraction(a, SplitPart::kTest), 0.1, 0.02) << split_strategy_name(s);
  }
}

}  // namespace
}  // namespace pixelrec
