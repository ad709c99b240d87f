// Early stopping: scripted metric sequences stop at exactly the right epoch in both directions,
// with ties, NaN and min_delta, and the state resumes exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "train/early_stopping.h"

namespace pixelrec::train {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Feeds values from epoch 0; returns the epoch after which should_stop() first held (-1: never)
// and the update() results.
int first_stop(EarlyStopping& stopping, const std::vector<double>& values,
               std::vector<bool>* improved = nullptr) {
  for (int epoch = 0; epoch < int(values.size()); ++epoch) {
    const bool better = stopping.update(epoch, values[epoch]);
    if (improved) improved->push_back(better);
    if (stopping.should_stop()) return epoch;
  }
  return -1;
}

TEST(EarlyStopping, AutoDirectionMinimizesLossesAndMaximizesOtherMetrics) {
  EXPECT_EQ(resolve_direction("val_loss", "auto"), Direction::kMinimize);
  EXPECT_EQ(resolve_direction("val_bce_loss", "auto"), Direction::kMinimize);
  EXPECT_EQ(resolve_direction("val_ndcg@10", "auto"), Direction::kMaximize);
  EXPECT_EQ(resolve_direction("val_loss", "maximize"), Direction::kMaximize);
  EXPECT_EQ(resolve_direction("val_ndcg@10", "minimize"), Direction::kMinimize);
  try {
    resolve_direction("val_loss", "down");
    FAIL() << "no error for direction 'down'";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("training.early_stopping_direction"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'down'"), std::string::npos);
  }
}

TEST(EarlyStopping, MinimizingStopsAfterPatienceEpochsWithoutNewBestAndTiesDoNotCount) {
  EarlyStopping stopping("val_loss", Direction::kMinimize, 2);
  EXPECT_EQ(stopping.best_epoch(), -1);
  EXPECT_TRUE(std::isnan(stopping.best()));
  std::vector<bool> improved;
  // 0.8 at epoch 2 ties the best (not improved); 0.7 at 3 resets; 0.7, 0.75 → stop at epoch 5.
  EXPECT_EQ(first_stop(stopping, {1.0, 0.8, 0.8, 0.7, 0.7, 0.75, 0.1}, &improved), 5);
  EXPECT_EQ(improved, (std::vector<bool>{true, true, false, true, false, false}));
  EXPECT_EQ(stopping.best(), 0.7);
  EXPECT_EQ(stopping.best_epoch(), 3);
  EXPECT_EQ(stopping.bad_epochs(), 2);
}

TEST(EarlyStopping, MaximizingTreatsNaNAsNeverBetter) {
  EarlyStopping stopping("val_ndcg@10", Direction::kMaximize, 3);
  std::vector<bool> improved;
  EXPECT_EQ(first_stop(stopping, {kNaN, 0.5, kNaN, 0.7, 0.7, 0.6, 0.69, 0.9}, &improved), 6);
  EXPECT_EQ(improved, (std::vector<bool>{false, true, false, true, false, false, false}));
  EXPECT_EQ(stopping.best(), 0.7);
  EXPECT_EQ(stopping.best_epoch(), 3);
}

TEST(EarlyStopping, NaNBeforeAnyValueLeavesNoBest) {
  EarlyStopping stopping("val_loss", Direction::kMinimize, 2);
  EXPECT_FALSE(stopping.update(0, kNaN));
  EXPECT_EQ(stopping.best_epoch(), -1);
  EXPECT_TRUE(std::isnan(stopping.best()));
  EXPECT_FALSE(stopping.should_stop());
  EXPECT_FALSE(stopping.update(1, kNaN));
  EXPECT_TRUE(stopping.should_stop());
}

TEST(EarlyStopping, MinDeltaRequiresAnImprovementByMoreThanIt) {
  EarlyStopping stopping("val_loss", Direction::kMinimize, 2, 0.1);
  std::vector<bool> improved;
  // 0.95 is within 0.1 of 1.0; 0.85 beats 1.0 - 0.1; 0.76 is within 0.1 of 0.85.
  EXPECT_EQ(first_stop(stopping, {1.0, 0.95, 0.85, 0.76, 0.8}, &improved), 4);
  EXPECT_EQ(improved, (std::vector<bool>{true, false, true, false, false}));
  EXPECT_EQ(stopping.best(), 0.85);
}

TEST(EarlyStopping, PatienceZeroNeverStops) {
  EarlyStopping stopping("val_loss", Direction::kMinimize, 0);
  std::vector<double> values(100, 5.0);
  EXPECT_EQ(first_stop(stopping, values), -1);
  EXPECT_EQ(stopping.bad_epochs(), 99);
}

TEST(EarlyStopping, StateRoundTripContinuesExactly) {
  const std::vector<double> values = {0.3, 0.4, 0.35, kNaN, 0.41, 0.2, 0.3, 0.4};
  EarlyStopping uninterrupted("val_recall@20", Direction::kMaximize, 3);
  EXPECT_EQ(first_stop(uninterrupted, values), 7);

  EarlyStopping first("val_recall@20", Direction::kMaximize, 3);
  for (int e = 0; e < 4; ++e) first.update(e, values[e]);
  EarlyStopping resumed("val_recall@20", Direction::kMaximize, 3);
  resumed.load_state(first.state());
  EXPECT_EQ(resumed.best(), 0.4);
  EXPECT_EQ(resumed.best_epoch(), 1);
  EXPECT_EQ(resumed.bad_epochs(), 2);
  int stopped = -1;
  for (int e = 4; e < int(values.size()) && stopped < 0; ++e) {
    resumed.update(e, values[e]);
    if (resumed.should_stop()) stopped = e;
  }
  EXPECT_EQ(stopped, 7);
  EXPECT_EQ(resumed.best(), uninterrupted.best());
  EXPECT_EQ(resumed.best_epoch(), 4);
}

TEST(EarlyStopping, StateBeforeAnyValueRoundTripsWithNaNBest) {
  EarlyStopping fresh("val_loss", Direction::kMinimize, 2);
  EarlyStopping loaded("val_loss", Direction::kMinimize, 2);
  loaded.load_state(fresh.state());
  EXPECT_TRUE(std::isnan(loaded.best()));
  EXPECT_EQ(loaded.best_epoch(), -1);
  EXPECT_TRUE(loaded.update(0, 3.0));
}

TEST(EarlyStopping, MalformedOrOtherDirectionStateIsAnError) {
  EarlyStopping minimize("val_loss", Direction::kMinimize, 2);
  minimize.update(0, 1.0);
  EarlyStopping maximize("val_loss", Direction::kMaximize, 2);
  EXPECT_THROW(maximize.load_state(minimize.state()), Error);
  EXPECT_THROW(minimize.load_state({1.0, 0.0}), Error);
  std::vector<double> state = minimize.state();
  state[3] = -1;  // a best value without its epoch
  EXPECT_THROW(minimize.load_state(state), Error);
  state = minimize.state();
  state[4] = 1.5;  // fractional bad-epoch count
  EXPECT_THROW(minimize.load_state(state), Error);
}

TEST(EarlyStopping, NegativePatienceIsAConfigError) {
  EXPECT_THROW(EarlyStopping("val_loss", Direction::kMinimize, -1), ConfigError);
  EXPECT_THROW(EarlyStopping("val_loss", Direction::kMinimize, 1, -0.5), ConfigError);
}

}  // namespace
}  // namespace pixelrec::train
