// Median stopping on hand-worked histories: prune when the trial's best value so far is worse
// than the median of the completed trials' values at the same step.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/errors.h"
#include "hpo/median_pruner.h"

namespace pixelrec::hpo {
namespace {

constexpr Decision C = Decision::kContinue;
constexpr Decision P = Decision::kPrune;

// Completed trial i reports (i + 1) * {1.0, 0.8, 0.6, 0.4} at steps 1..4, so with five of them
// the medians are 3.0, 2.4, 1.8, 1.2 (trial 2's curve).
TrialHistory completed_trials(int n) {
  TrialHistory history;
  for (int i = 0; i < n; ++i) {
    FrozenTrial& t = history.add({}, TrialState::kComplete);
    const double scale = i + 1;
    t.intermediate_values = {{1, scale}, {2, 0.8 * scale}, {3, 0.6 * scale}, {4, 0.4 * scale}};
    t.value = 0.4 * scale;
  }
  return history;
}

// Adds a running trial and feeds it `curve` (step -> value) in order; returns the decisions.
std::vector<Decision> run_trial(MedianPruner& pruner, TrialHistory& history,
                                const std::map<int64_t, double>& curve) {
  const int64_t number = history.add({}).number;
  std::vector<Decision> decisions;
  for (const auto& [step, value] : curve) {
    history.at(number).intermediate_values[step] = value;
    decisions.push_back(pruner.decide(history, {number, step, value}));
  }
  return decisions;
}

TEST(HpoMedianPruner, PrunesWhenTheBestSoFarIsWorseThanTheMedianAtTheStep) {
  TrialHistory history = completed_trials(5);
  MedianPruner pruner({}, Direction::kMinimize);
  EXPECT_EQ(run_trial(pruner, history, {{1, 3.5}}), std::vector<Decision>{P});  // 3.5 > 3.0
  EXPECT_EQ(run_trial(pruner, history, {{1, 2.9}, {2, 2.5}}),                   // 2.5 > 2.4
            (std::vector<Decision>{C, P}));
  EXPECT_EQ(run_trial(pruner, history, {{1, 3.0}}), std::vector<Decision>{C});  // equal: not worse
  // The best so far counts: 3.0 at step 2 is worse than 2.4, but 2.0 at step 1 is not.
  EXPECT_EQ(run_trial(pruner, history, {{1, 2.0}, {2, 3.0}}), (std::vector<Decision>{C, C}));
}

TEST(HpoMedianPruner, MaximizePrunesBelowTheMedian) {
  TrialHistory history = completed_trials(5);
  MedianPruner pruner({}, Direction::kMaximize);
  EXPECT_EQ(run_trial(pruner, history, {{1, 2.9}}), std::vector<Decision>{P});
  EXPECT_EQ(run_trial(pruner, history, {{1, 3.1}, {2, 2.5}, {3, 1.7}}),  // 1.7 < 1.8, but best 3.1
            (std::vector<Decision>{C, C, C}));
}

TEST(HpoMedianPruner, NeverPrunesBeforeFiveTrialsHaveCompleted) {
  TrialHistory history = completed_trials(4);
  MedianPruner pruner({}, Direction::kMinimize);
  EXPECT_EQ(run_trial(pruner, history, {{1, 100.0}}), std::vector<Decision>{C});
  // Running and pruned trials are not "completed", however many there are.
  for (int i = 0; i < 3; ++i) history.add({}, TrialState::kPruned).intermediate_values[1] = 0.0;
  EXPECT_EQ(run_trial(pruner, history, {{1, 100.0}}), std::vector<Decision>{C});
}

TEST(HpoMedianPruner, EvenCountUsesTheMeanOfTheTwoMiddleValues) {
  TrialHistory history = completed_trials(6);  // step 1 values 1..6: median 3.5
  MedianPruner pruner({}, Direction::kMinimize);
  EXPECT_EQ(run_trial(pruner, history, {{1, 3.6}}), std::vector<Decision>{P});
  EXPECT_EQ(run_trial(pruner, history, {{1, 3.4}}), std::vector<Decision>{C});
}

TEST(HpoMedianPruner, WarmupStepsAreNeverPruned) {
  TrialHistory history = completed_trials(5);
  MedianOptions options;
  options.n_warmup_steps = 2;
  MedianPruner pruner(options, Direction::kMinimize);
  EXPECT_EQ(run_trial(pruner, history, {{1, 100.0}, {2, 100.0}}), (std::vector<Decision>{C, P}));
}

TEST(HpoMedianPruner, IntervalStepsCheckOnlyTheFirstReportOfEachInterval) {
  TrialHistory history = completed_trials(5);
  MedianPruner every_step({}, Direction::kMinimize);
  MedianOptions options;
  options.interval_steps = 2;  // checks the first report at or after steps 0, 2, 4, ...
  MedianPruner every_other(options, Direction::kMinimize);
  // 2.0 beats the step-2 median (2.4) but not the step-3 one (1.8).
  EXPECT_EQ(run_trial(every_step, history, {{2, 2.0}, {3, 2.0}}), (std::vector<Decision>{C, P}));
  EXPECT_EQ(run_trial(every_other, history, {{2, 2.0}, {3, 2.0}}), (std::vector<Decision>{C, C}));
  // Without a report at step 2, step 3 is the first report of its interval and is checked.
  EXPECT_EQ(run_trial(every_other, history, {{1, 2.0}, {3, 2.0}}), (std::vector<Decision>{C, P}));
}

TEST(HpoMedianPruner, ContinuesWhenNoCompletedTrialReportedAtTheStep) {
  TrialHistory history = completed_trials(5);
  MedianPruner pruner({}, Direction::kMinimize);
  EXPECT_EQ(run_trial(pruner, history, {{7, 100.0}}), std::vector<Decision>{C});
}

TEST(HpoMedianPruner, PrunesATrialThatReportedOnlyNaN) {
  TrialHistory history = completed_trials(5);
  MedianPruner pruner({}, Direction::kMinimize);
  EXPECT_EQ(run_trial(pruner, history, {{1, NAN}}), std::vector<Decision>{P});
}

TEST(HpoMedianPruner, RejectsImpossibleOptions) {
  MedianOptions options;
  options.interval_steps = 0;
  try {
    MedianPruner(options, Direction::kMinimize);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "median pruner: interval_steps must be >= 1 (got 0)");
  }
  options = {};
  options.n_startup_trials = -1;
  EXPECT_THROW(MedianPruner(options, Direction::kMinimize), ConfigError);
}

}  // namespace
}  // namespace pixelrec::hpo
