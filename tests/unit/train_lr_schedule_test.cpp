// Learning-rate schedules: warmup, cosine, step and reduce_on_plateau against hand-computed
// values, and exact resumption from a saved state.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "train/lr_schedule.h"

namespace pixelrec::train {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

LrScheduleOptions options(const std::string& type, double base_lr, int warmup, int total) {
  LrScheduleOptions o;
  o.type = type;
  o.base_lr = base_lr;
  o.warmup_epochs = warmup;
  o.total_epochs = total;
  return o;
}

TEST(LrSchedule, WarmupRisesLinearlyPerOptimizerStepThenHoldsTheBaseRate) {
  const LrSchedule schedule(options("none", 0.1, 2, 10));
  // 2 warmup epochs of 4 steps: lr = 0.1 * (global_step + 1) / 8.
  EXPECT_DOUBLE_EQ(schedule.lr(0, 0, 4), 0.0125);
  EXPECT_DOUBLE_EQ(schedule.lr(0, 3, 4), 0.05);
  EXPECT_DOUBLE_EQ(schedule.lr(1, 0, 4), 0.0625);
  EXPECT_DOUBLE_EQ(schedule.lr(1, 3, 4), 0.1);
  EXPECT_DOUBLE_EQ(schedule.lr(2, 0, 4), 0.1);
  EXPECT_DOUBLE_EQ(schedule.lr(9, 3, 4), 0.1);
}

TEST(LrSchedule, CosineDecaysFromBaseToMinOverTheEpochsAfterWarmup) {
  LrScheduleOptions o = options("cosine", 0.1, 1, 5);  // T = 4 epochs of cosine
  o.min_lr = 0.001;
  const LrSchedule schedule(o);
  EXPECT_DOUBLE_EQ(schedule.lr(0, 1, 2), 0.1);  // warmup: 0.1 * 2 / 2
  EXPECT_DOUBLE_EQ(schedule.lr(1, 0, 2), 0.1);  // t = 0
  // t = 0.25 (epoch 1, step 1 of 4): 0.001 + 0.099 * (1 + cos(pi / 16)) / 2
  EXPECT_DOUBLE_EQ(schedule.lr(1, 1, 4), 0.09904887137995991);
  EXPECT_DOUBLE_EQ(schedule.lr(2, 1, 2), 0.06944282990207196);   // t = 1.5
  EXPECT_DOUBLE_EQ(schedule.lr(3, 0, 2), 0.0505);                // t = 2: the midpoint
  EXPECT_DOUBLE_EQ(schedule.lr(4, 1, 2), 0.004767963140691307);  // t = 3.5
  EXPECT_DOUBLE_EQ(schedule.lr(5, 0, 2), 0.001);                 // t = T
  EXPECT_DOUBLE_EQ(schedule.lr(7, 1, 2), 0.001);                 // past T: stays at min_lr
}

TEST(LrSchedule, StepMultipliesByFactorEveryStepSizeEpochsDownToMinLr) {
  LrScheduleOptions o = options("step", 1.0, 1, 20);
  o.factor = 0.5;
  o.step_size = 2;
  o.min_lr = 0.2;
  const LrSchedule schedule(o);
  EXPECT_DOUBLE_EQ(schedule.lr(0, 0, 1), 1.0);  // warmup of one single-step epoch
  const double expected[] = {1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2};  // epochs 1..8
  for (int epoch = 1; epoch <= 8; ++epoch)
    EXPECT_DOUBLE_EQ(schedule.lr(epoch, 2, 3), expected[epoch - 1]) << "epoch " << epoch;
}

// Metric per epoch → (bad epochs, lr) after end_epoch.
struct PlateauStep {
  double metric;
  int bad_epochs;
  double lr;
};

void run_plateau(LrSchedule& schedule, int first_epoch, const std::vector<PlateauStep>& steps) {
  int epoch = first_epoch;
  for (const auto& s : steps) {
    schedule.end_epoch(epoch, s.metric);
    EXPECT_EQ(schedule.plateau_bad_epochs(), s.bad_epochs) << "epoch " << epoch;
    EXPECT_DOUBLE_EQ(schedule.lr(epoch + 1, 0, 10), s.lr) << "epoch " << epoch;
    ++epoch;
  }
}

TEST(LrSchedule, PlateauMinimizingFollowsPyTorchSemantics) {
  LrScheduleOptions o = options("reduce_on_plateau", 1.0, 1, 20);
  o.factor = 0.5;
  o.patience = 1;
  o.min_lr = 0.2;
  LrSchedule schedule(o);
  // Warmup epoch 0 is not counted: its excellent metric does not become the best.
  schedule.end_epoch(0, 0.01);
  EXPECT_EQ(schedule.plateau_bad_epochs(), 0);
  run_plateau(schedule, 1,
              {
                  {1.0, 0, 1.0},      // best = 1.0
                  {0.99995, 1, 1.0},  // not below 1.0 * (1 - 1e-4): bad
                  {kNaN, 0, 0.5},     // NaN is bad: 2 > patience → halve, counter reset
                  {0.9, 0, 0.5},      // new best
                  {0.95, 1, 0.5},
                  {0.95, 0, 0.25},
                  {0.95, 1, 0.25},
                  {0.95, 0, 0.2},  // 0.125 floored at min_lr
                  {0.95, 1, 0.2},
                  {0.95, 0, 0.2},  // already at min_lr: unchanged
              });
}

TEST(LrSchedule, PlateauMaximizingUsesTheRelativeThresholdUpwards) {
  LrScheduleOptions o = options("reduce_on_plateau", 1.0, 0, 20);
  o.factor = 0.1;
  o.patience = 0;
  o.maximize = true;
  LrSchedule schedule(o);
  run_plateau(schedule, 0,
              {
                  {0.5, 0, 1.0},      // best = 0.5
                  {0.50004, 0, 0.1},  // not above 0.5 * 1.0001 → bad; 1 > 0 → reduce
                  {0.6, 0, 0.1},      // better
                  {0.7, 0, 0.1},
              });
  EXPECT_NEAR(schedule.plateau_lr(), 0.1, 1e-17);
}

TEST(LrSchedule, NonPlateauSchedulesIgnoreTheMetric) {
  LrScheduleOptions o = options("step", 1.0, 0, 10);
  o.step_size = 100;
  LrSchedule schedule(o);
  for (int epoch = 0; epoch < 5; ++epoch) schedule.end_epoch(epoch, 100.0 + epoch);
  EXPECT_DOUBLE_EQ(schedule.lr(5, 0, 1), 1.0);
}

TEST(LrSchedule, StateRoundTripMidRunReproducesTheSameSequence) {
  LrScheduleOptions o = options("reduce_on_plateau", 0.1, 1, 30);
  o.patience = 1;
  o.factor = 0.3;
  o.min_lr = 1e-4;
  const std::vector<double> metrics = {3.0, 2.0, 2.5, 2.4, 2.1, 2.2, 2.3, 1.0, 1.5, 1.6, 1.7, 1.8};
  LrSchedule uninterrupted(o);
  std::vector<double> expected;
  for (int e = 0; e < int(metrics.size()); ++e) {
    expected.push_back(uninterrupted.lr(e, 3, 7));
    uninterrupted.end_epoch(e, metrics[e]);
  }

  LrSchedule first(o);
  for (int e = 0; e < 5; ++e) first.end_epoch(e, metrics[e]);
  LrSchedule resumed(o);
  resumed.load_state(first.state());
  EXPECT_EQ(resumed.state(), first.state());
  for (int e = 5; e < int(metrics.size()); ++e) {
    EXPECT_DOUBLE_EQ(resumed.lr(e, 3, 7), expected[e]) << "epoch " << e;
    resumed.end_epoch(e, metrics[e]);
  }
  EXPECT_EQ(resumed.state(), uninterrupted.state());
  EXPECT_LT(resumed.plateau_lr(), 0.1);  // the sequence did reduce
}

TEST(LrSchedule, MalformedOrForeignStateIsAnError) {
  LrSchedule plateau(options("reduce_on_plateau", 0.1, 0, 5));
  std::vector<double> state = plateau.state();
  EXPECT_THROW(plateau.load_state({}), Error);
  EXPECT_THROW(plateau.load_state({1, 1, 0.1}), Error);
  std::vector<double> bad = state;
  bad[4] = -1;  // negative bad-epoch count
  EXPECT_THROW(plateau.load_state(bad), Error);
  bad = state;
  bad[2] = kNaN;  // learning rate
  EXPECT_THROW(plateau.load_state(bad), Error);
  LrSchedule cosine(options("cosine", 0.1, 0, 5));
  try {
    cosine.load_state(state);
    FAIL() << "a plateau state loaded into a cosine schedule";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'cosine'"), std::string::npos) << e.what();
  }
}

TEST(LrSchedule, OptionsComeFromTrainingConfig) {
  TrainingConfig training;
  training.learning_rate = 0.02;
  training.lr_scheduler_type = "step";
  training.warmup_epochs = 3;
  training.epochs = 40;
  training.lr_scheduler_factor = 0.7;
  training.lr_scheduler_patience = 4;
  training.lr_scheduler_min_lr = 1e-5;
  training.lr_scheduler_step_size = 6;
  const LrScheduleOptions o = lr_schedule_options(training, true);
  EXPECT_EQ(o.type, "step");
  EXPECT_EQ(o.base_lr, 0.02);
  EXPECT_EQ(o.warmup_epochs, 3);
  EXPECT_EQ(o.total_epochs, 40);
  EXPECT_EQ(o.factor, 0.7);
  EXPECT_EQ(o.patience, 4);
  EXPECT_EQ(o.min_lr, 1e-5);
  EXPECT_EQ(o.step_size, 6);
  EXPECT_TRUE(o.maximize);
  training.use_lr_scheduler = false;
  const LrScheduleOptions off = lr_schedule_options(training, false);
  EXPECT_EQ(off.type, "none");
  EXPECT_EQ(off.warmup_epochs, 3);  // warmup still applies
  EXPECT_FALSE(off.maximize);
}

TEST(LrSchedule, InvalidOptionsNameTheTrainingKey) {
  auto message = [](const LrScheduleOptions& o) {
    try {
      LrSchedule schedule(o);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(options("exponential", 0.1, 0, 5)).find("training.lr_scheduler_type"),
            std::string::npos);
  EXPECT_NE(message(options("cosine", 0.0, 0, 5)).find("training.learning_rate"),
            std::string::npos);
  EXPECT_NE(message(options("cosine", 0.1, 0, 0)).find("training.epochs"), std::string::npos);
  LrScheduleOptions o = options("step", 0.1, 0, 5);
  o.step_size = 0;
  EXPECT_NE(message(o).find("training.lr_scheduler_step_size"), std::string::npos);
  o = options("step", 0.1, 0, 5);
  o.factor = 1.5;
  EXPECT_NE(message(o).find("training.lr_scheduler_factor"), std::string::npos);
}

}  // namespace
}  // namespace pixelrec::train
