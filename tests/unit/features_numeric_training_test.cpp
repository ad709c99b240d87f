// Leak-free numeric features: per-item counters of the training split only (interactions,
// distinct users, share in the last 20% of the training period); an item without training
// interactions gets zeros; a store records its source and result files describe it.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "features/numeric_training.h"
#include "support/test_support.h"

namespace pixelrec::features {
namespace {

TEST(TrainingCounters, CountInteractionsDistinctUsersAndRecentShare) {
  test::ScratchDir dir("numeric_training");
  const auto train = dir.path() / "train.csv";
  std::ofstream(train) << "user_id,item_id,timestamp\n"
                          "u1,a,0\nu2,a,10\nu1,a,100\n"  // a: 3 interactions, 2 users, 1 recent
                          "u3,b,90\n"                    // b: recent (>= 80)
                          "u9,zz,50\n";                  // not a cached item
  const IdMap items = IdMap::from_ids({"a", "b", "cold"});
  const TrainingCounters c = training_counters(train, items, 3);
  ASSERT_EQ(c.columns,
            (std::vector<std::string>{"train_interactions", "train_users", "train_recent_share"}));
  EXPECT_EQ(c.values, (std::vector<double>{3, 2, 1.0 / 3, 1, 1, 1, 0, 0, 0}));
}

TEST(TrainingCounters, WithoutTimestampsThereIsNoRecencyColumn) {
  test::ScratchDir dir("numeric_training_nots");
  const auto train = dir.path() / "train.csv";
  std::ofstream(train) << "user_id,item_id\nu1,a\nu1,a\n";
  const TrainingCounters c = training_counters(train, IdMap::from_ids({"a"}), 1);
  EXPECT_EQ(c.columns, (std::vector<std::string>{"train_interactions", "train_users"}));
  EXPECT_EQ(c.values, (std::vector<double>{2, 1}));
}

TEST(TrainingCounters, ABadTimestampNamesFileAndLine) {
  test::ScratchDir dir("numeric_training_bad");
  const auto train = dir.path() / "train.csv";
  std::ofstream(train) << "user_id,item_id,timestamp\nu1,a,1\nu1,a,soon\n";
  try {
    training_counters(train, IdMap::from_ids({"a"}), 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
}

TEST(NumericSource, StoresRecordItAndResultsSayWhetherItCanLeak) {
  EXPECT_EQ(numeric_source_of(R"({"method":"none","source":"train_interactions"})"),
            "train_interactions");
  EXPECT_EQ(numeric_source_of(R"({"method":"none"})"), "catalogue");  // stores cached before
  EXPECT_NE(describe_numeric_source("catalogue", true).find("leak val/test"), std::string::npos);
  EXPECT_NE(describe_numeric_source("train_interactions", true).find("leak-free"),
            std::string::npos);
  EXPECT_EQ(describe_numeric_source("catalogue", false), "none");
}

}  // namespace
}  // namespace pixelrec::features
