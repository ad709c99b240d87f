// split_stats.json numbers on a split small enough to count by hand.
#include <gtest/gtest.h>

#include "data/split.h"

namespace pixelrec {
namespace {

using P = SplitPart;

// train: (u0,i0,10) (u0,i1,20) (u1,i0,30); val: (u1,i2,40) (u2,i3,50); test: (u0,i3,60) (u2,i1,70)
struct HandCountedSplit {
  SplitKeys keys;
  SplitAssignment assignment;
  HandCountedSplit() {
    keys.user = {0, 0, 1, 1, 2, 0, 2};
    keys.item = {0, 1, 0, 2, 3, 3, 1};
    keys.timestamp = {10, 20, 30, 40, 50, 60, 70};
    keys.user_count = 3;
    keys.item_count = 4;
    assignment.part = {P::kTrain, P::kTrain, P::kTrain, P::kVal, P::kVal, P::kTest, P::kTest};
  }
};

TEST(SplitStats, CountsInteractionsUsersItemsAndTimeRangePerPart) {
  const HandCountedSplit s;
  const SplitStats stats = compute_split_stats(s.keys, s.assignment);
  EXPECT_EQ(stats.input_interactions, 7u);
  const SplitPartStats& train = stats.parts[0];
  EXPECT_EQ(train.interactions, 3u);
  EXPECT_EQ(train.users, 2u);
  EXPECT_EQ(train.items, 2u);
  EXPECT_DOUBLE_EQ(train.fraction, 3.0 / 7.0);
  EXPECT_EQ(train.min_timestamp, 10);
  EXPECT_EQ(train.max_timestamp, 30);
  EXPECT_EQ(stats.parts[1].interactions, 2u);
  EXPECT_EQ(stats.parts[1].min_timestamp, 40);
  EXPECT_EQ(stats.parts[2].max_timestamp, 70);
}

TEST(SplitStats, CountsUsersAndItemsSharedByEachPairOfParts) {
  const HandCountedSplit s;
  const SplitStats stats = compute_split_stats(s.keys, s.assignment);
  EXPECT_EQ(stats.train_val.users, 1u);  // u1
  EXPECT_EQ(stats.train_val.items, 0u);
  EXPECT_EQ(stats.train_test.users, 1u);  // u0
  EXPECT_EQ(stats.train_test.items, 1u);  // i1
  EXPECT_EQ(stats.val_test.users, 1u);    // u2
  EXPECT_EQ(stats.val_test.items, 1u);    // i3
}

TEST(SplitStats, ColdFractionsAreSharesOfInteractionsUnseenInTrain) {
  const HandCountedSplit s;
  const SplitStats stats = compute_split_stats(s.keys, s.assignment);
  EXPECT_DOUBLE_EQ(stats.cold_val.user_fraction, 0.5);  // u2 of (u1, u2)
  EXPECT_DOUBLE_EQ(stats.cold_val.item_fraction, 1.0);  // i2 and i3
  EXPECT_EQ(stats.cold_val.cold_users, 1u);
  EXPECT_EQ(stats.cold_val.cold_items, 2u);
  EXPECT_DOUBLE_EQ(stats.cold_test.user_fraction, 0.5);  // u2 of (u0, u2)
  EXPECT_DOUBLE_EQ(stats.cold_test.item_fraction, 0.5);  // i3 of (i3, i1)
  EXPECT_EQ(stats.cold_test.cold_users, 1u);
  EXPECT_EQ(stats.cold_test.cold_items, 1u);
}

TEST(SplitStats, JsonHoldsEveryDocumentedField) {
  const HandCountedSplit s;
  SplitStats stats = compute_split_stats(s.keys, s.assignment);
  stats.strategy = "leave_one_out";
  stats.seed = 42;
  stats.users_with_too_few_interactions = 4;
  stats.seconds = 0.25;
  const nlohmann::json j = nlohmann::json::parse(split_stats_to_json(stats).dump());
  EXPECT_EQ(j["strategy"], "leave_one_out");
  EXPECT_TRUE(j["stratify_by"].is_null());
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["ratios"], (nlohmann::json{{"train", 0.8}, {"val", 0.1}, {"test", 0.1}}));
  EXPECT_TRUE(j["sample_n"].is_null());
  EXPECT_EQ(j["input_interactions"], 7);
  EXPECT_EQ(j["parts"]["val"], (nlohmann::json{{"interactions", 2},
                                               {"users", 2},
                                               {"items", 2},
                                               {"fraction", 2.0 / 7.0},
                                               {"min_timestamp", 40},
                                               {"max_timestamp", 50}}));
  EXPECT_EQ(j["overlaps"]["train_test"], (nlohmann::json{{"users", 1}, {"items", 1}}));
  EXPECT_EQ(
      j["cold"]["val"],
      (nlohmann::json{
          {"user_fraction", 0.5}, {"item_fraction", 1.0}, {"cold_users", 1}, {"cold_items", 2}}));
  EXPECT_EQ(j["users_with_too_few_interactions"], 4);
  EXPECT_EQ(j["seconds"], 0.25);
}

TEST(SplitStats, JsonKeepsTheDocumentedFieldOrder) {
  const HandCountedSplit s;
  const nlohmann::ordered_json j = split_stats_to_json(compute_split_stats(s.keys, s.assignment));
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"strategy", "stratify_by", "seed", "ratios", "sample_n",
                                            "input_interactions", "parts", "overlaps", "cold",
                                            "users_with_too_few_interactions", "seconds"}));
}

TEST(SplitStats, LogTableHasOneAlignedLinePerPart) {
  const HandCountedSplit s;
  EXPECT_EQ(format_split_table(compute_split_stats(s.keys, s.assignment)),
            (std::vector<std::string>{
                "part   interactions  fraction   users   items  cold users  cold items",
                "train             3     0.429       2       2           -           -",
                "val               2     0.286       2       2           1           2",
                "test              2     0.286       2       2           1           1"}));
}

}  // namespace
}  // namespace pixelrec
