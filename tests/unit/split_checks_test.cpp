// What the split refuses to do (impossible ratios, empty parts, unknown strategies), what the
// leakage check catches, and interaction sampling.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>

#include "core/errors.h"
#include "data/split.h"

namespace pixelrec {
namespace {

using P = SplitPart;

// One row per (user, item, timestamp) triple.
SplitKeys keys_of(const std::vector<uint32_t>& users, const std::vector<uint32_t>& items,
                  const std::vector<int64_t>& timestamps) {
  SplitKeys keys;
  keys.user = users;
  keys.item = items;
  keys.timestamp = timestamps;
  keys.user_count = users.empty() ? 0 : *std::max_element(users.begin(), users.end()) + 1;
  keys.item_count = items.empty() ? 0 : *std::max_element(items.begin(), items.end()) + 1;
  return keys;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SplitRatios, AZeroRatioIsImpossibleAndNamesItsKey) {
  EXPECT_EQ(error_of([] {
              check_split_ratios(SplitStrategy::kRandom, {0.9, 0.0, 0.1});
            }),
            "impossible ratios for split strategy 'random': data.splitting.val_final_ratio = 0 "
            "would leave the val part empty; give data.splitting.train_final_ratio, "
            "val_final_ratio and test_final_ratio values > 0 that sum to 1");
}

TEST(SplitRatios, LeaveOneOutIgnoresRatios) {
  EXPECT_NO_THROW(check_split_ratios(SplitStrategy::kLeaveOneOut, {1.0, 0.0, 0.0}));
}

TEST(SplitStrategyNames, RoundTripAndUnknownNamesListTheAllowedOnes) {
  EXPECT_EQ(parse_split_strategy("stratified_temporal"), SplitStrategy::kStratifiedTemporal);
  EXPECT_EQ(split_strategy_name(SplitStrategy::kItem), "item");
  EXPECT_EQ(error_of([] { parse_split_strategy("by_user"); }),
            "data.splitting.strategy: unknown strategy 'by_user' (allowed: leave_one_out, "
            "temporal, user_temporal, random, stratified, stratified_by_column, "
            "stratified_temporal, user, item)");
}

TEST(EmptyParts, ATimeCutInsideOneTimestampLeavesValEmpty) {
  const SplitKeys keys = keys_of(std::vector<uint32_t>(10, 0), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
                                 std::vector<int64_t>(10, 1000));
  EXPECT_EQ(error_of([&] {
              assign_split(SplitStrategy::kTemporal, keys, {0.8, 0.1, 0.1}, 1);
            }),
            "split strategy 'temporal' leaves the val part empty (10 interactions, 1 users, 10 "
            "items): use more data, a larger data.splitting.val_final_ratio, or another "
            "data.splitting.strategy");
}

TEST(EmptyParts, LeaveOneOutWithoutAnyThreeEventUserLeavesValEmpty) {
  const SplitKeys keys = keys_of({0, 0, 1, 1}, {0, 1, 2, 3}, {1, 2, 3, 4});
  EXPECT_EQ(error_of([&] { assign_split(SplitStrategy::kLeaveOneOut, keys, {}, 1); }),
            "split strategy 'leave_one_out' leaves the val part empty (4 interactions, 2 users, 4 "
            "items): no user has the 3 interactions leave_one_out needs; use more data (a larger "
            "--sample-n or data.sample_size, if set) or another data.splitting.strategy");
}

TEST(EmptyParts, OneUserCannotBeSplitIntoThreeUserDisjointParts) {
  const SplitKeys keys = keys_of({0, 0, 0, 0}, {0, 1, 2, 3}, {1, 2, 3, 4});
  EXPECT_EQ(error_of([&] {
              assign_split(SplitStrategy::kUser, keys, {0.8, 0.1, 0.1}, 1);
            }),
            "split strategy 'user' leaves the val part empty (4 interactions, 1 users, 4 items): "
            "use more data, a larger data.splitting.val_final_ratio, or another "
            "data.splitting.strategy");
}

TEST(LeakageCheck, CatchesAUserInTwoPartsOfAUserSplit) {
  const SplitKeys keys = keys_of({0, 0, 1}, {0, 1, 2}, {1, 2, 3});
  const SplitAssignment a{{P::kTrain, P::kVal, P::kTest}, 0};
  EXPECT_EQ(find_split_violations(SplitStrategy::kUser, keys, a),
            std::vector<std::string>{"user #0 is in 2 parts"});
  EXPECT_EQ(find_split_violations(SplitStrategy::kRandom, keys, a), std::vector<std::string>{});
}

TEST(LeakageCheck, CatchesATestItemThatIsAlsoInTrain) {
  const SplitKeys keys = keys_of({0, 1, 2, 3}, {0, 1, 2, 0}, {1, 2, 3, 4});
  const SplitAssignment a{{P::kTrain, P::kVal, P::kTest, P::kTest}, 0};
  EXPECT_EQ(find_split_violations(SplitStrategy::kItem, keys, a),
            std::vector<std::string>{"item #0 is in 2 parts"});
}

TEST(LeakageCheck, CatchesTrainEventsAfterValEventsInATimeCut) {
  const SplitKeys keys = keys_of({0, 0, 0}, {0, 1, 2}, {5, 3, 9});
  const SplitAssignment a{{P::kTrain, P::kVal, P::kTest}, 0};
  EXPECT_EQ(find_split_violations(SplitStrategy::kTemporal, keys, a),
            std::vector<std::string>{"time cut: train ends at timestamp 5, after val starts at 3"});
}

TEST(LeakageCheck, CatchesAnAssignmentThatDoesNotCoverTheInput) {
  const SplitKeys keys = keys_of({0, 0, 0}, {0, 1, 2}, {1, 2, 3});
  const SplitAssignment a{{P::kTrain, P::kVal}, 0};
  EXPECT_EQ(find_split_violations(SplitStrategy::kRandom, keys, a),
            std::vector<std::string>{"the parts hold 2 rows but the input has 3"});
}

TEST(SampleRows, DrawsExactlyNDistinctRowsInInputOrder) {
  const std::vector<size_t> rows = sample_rows(1000, 137, 42);
  ASSERT_EQ(rows.size(), 137u);
  EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
  EXPECT_EQ(std::set<size_t>(rows.begin(), rows.end()).size(), 137u);
  EXPECT_LT(rows.back(), 1000u);
}

TEST(SampleRows, IsDeterministicPerSeed) {
  EXPECT_EQ(sample_rows(1000, 50, 42), sample_rows(1000, 50, 42));
  EXPECT_NE(sample_rows(1000, 50, 42), sample_rows(1000, 50, 43));
}

TEST(SampleRows, AllRowsWhenNIsTheTotalAndAnErrorWhenLarger) {
  EXPECT_EQ(sample_rows(4, 4, 1), (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(error_of([] { sample_rows(10, 11, 1); }),
            "cannot sample 11 interactions from 10 (lower --sample-n or data.sample_size, or "
            "unset it)");
}

}  // namespace
}  // namespace pixelrec
