// ASHA on hand-worked report sequences (min_resource 1, eta 3, max_resource 27: rungs 1, 3, 9;
// as in the ASHA paper, rungs lie below max_resource, so a trial that trains every epoch is never
// pruned at the end).
// Rule: with n values at a rung (the new one included) a trial continues when its value is at
// least as good as the k-th best, k = max(1, floor(n / 3)).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/errors.h"
#include "hpo/asha.h"

namespace pixelrec::hpo {
namespace {

constexpr Decision C = Decision::kContinue;
constexpr Decision P = Decision::kPrune;

AshaOptions one_three_nine() {
  AshaOptions options;
  options.min_resource = 1;
  options.max_resource = 27;
  options.reduction_factor = 3;
  return options;
}

std::vector<Decision> feed(AshaPruner& asha, const std::vector<Report>& reports) {
  const TrialHistory unused;
  std::vector<Decision> decisions;
  for (const Report& r : reports) decisions.push_back(asha.decide(unused, r));
  return decisions;
}

// Minimize (e.g. validation loss). Arrival order; comments give the rung's values after the report.
const std::vector<Report> kMinimizeReports = {
    {0, 1, 0.50},  // rung 1: {.50}            n=1 k=1: best so far            -> continue
    {1, 1, 0.60},  // rung 1: {.50 .60}        n=2 k=1: .60 > .50              -> prune
    {2, 1, 0.40},  // rung 1: {.40 .50 .60}    n=3 k=1: best                   -> continue
    {0, 2, 0.45},  // step 2 is no rung                                        -> continue
    {0, 3, 0.30},  // rung 3: {.30}            n=1: best                       -> continue
    {3, 1, 0.55},  // rung 1: n=4 k=1: .55 > .40                               -> prune
    {4, 1, 0.20},  // rung 1: n=5 k=1: best                                    -> continue
    {5, 1, 0.45},  // rung 1: {.20 .40 .45 .50 .55 .60} n=6 k=2: .45 > .40     -> prune
    {2, 3, 0.35},  // rung 3: {.30 .35}        n=2 k=1: .35 > .30              -> prune
    {4, 3, 0.25},  // rung 3: {.25 .30 .35}    n=3 k=1: best                   -> continue
    {0, 9, 0.28},  // rung 9: {.28}            n=1: best                       -> continue
    {4, 9, 0.10},  // rung 9: {.10 .28}        n=2 k=1: best                   -> continue
    {1, 2, 0.10},  // trial 1 was pruned: stays pruned, nothing recorded        -> prune
    {6, 1, 0.40},  // rung 1: {.20 .40 .40 ...} n=7 k=2: ties the 2nd best      -> continue
    {7, 3, 0.05},  // first report at step 3 passes rungs 1 and 3:
                   //   rung 1 n=8 k=2: .05 <= .20; rung 3 {.05 .25 .30 .35} n=4 k=1 -> continue
};
const std::vector<Decision> kMinimizeDecisions = {C, P, C, C, C, P, C, P, P, C, C, C, P, C, C};

// Maximize (e.g. NDCG).
const std::vector<Report> kMaximizeReports = {
    {0, 1, 0.50},  // rung 1: {.50}                          -> continue
    {1, 1, 0.60},  // rung 1: n=2 k=1: best                  -> continue
    {2, 1, 0.40},  // rung 1: n=3 k=1: .40 < .60             -> prune
    {3, 1, 0.70},  // rung 1: n=4 k=1: best                  -> continue
    {1, 3, 0.65},  // rung 3: {.65}                          -> continue
    {4, 1, 0.55},  // rung 1: n=5 k=1: .55 < .70             -> prune
    {5, 1, 0.65},  // rung 1: {.40 .50 .55 .60 .65 .70} n=6 k=2: the 2nd best -> continue
    {0, 3, 0.52},  // rung 3: {.52 .65} n=2 k=1: .52 < .65   -> prune
    {3, 3, 0.80},  // rung 3: n=3 k=1: best                  -> continue
    {1, 9, 0.70},  // rung 9: {.70}                          -> continue
    {3, 9, 0.69},  // rung 9: {.69 .70} n=2 k=1: .69 < .70   -> prune (at the last rung)
    {5, 2, 0.66},  // step 2 is no rung                      -> continue
    {5, 3, NAN},   // NaN at a rung                          -> prune
};
const std::vector<Decision> kMaximizeDecisions = {C, C, P, C, C, P, C, P, C, C, P, C, P};

TEST(HpoAsha, RungsAreMinResourceTimesEtaPowersBelowMaxResource) {
  EXPECT_EQ(AshaPruner(one_three_nine(), Direction::kMinimize).rungs(),
            (std::vector<int64_t>{1, 3, 9}));
  AshaOptions options = one_three_nine();
  options.min_early_stopping_rate = 1;
  EXPECT_EQ(AshaPruner(options, Direction::kMinimize).rungs(), (std::vector<int64_t>{3, 9}));
  options = {2, 20, 2, 0};
  EXPECT_EQ(AshaPruner(options, Direction::kMinimize).rungs(), (std::vector<int64_t>{2, 4, 8, 16}));
  options = {1, 9, 3, 0};  // 9 = max_resource is where a trial completes, not a rung
  EXPECT_EQ(AshaPruner(options, Direction::kMinimize).rungs(), (std::vector<int64_t>{1, 3}));
}

// A trial that trained max_resource epochs completes, however it compares: with a rung at
// max_resource it was stored PRUNED and could never be the best trial.
TEST(HpoAsha, ATrialAtMaxResourceIsNeverPruned) {
  AshaPruner asha({1, 9, 3, 0}, Direction::kMaximize);
  // Trial 1 leads at rungs 1 and 3, then ends far behind trial 0 at epoch 9: it still completes.
  EXPECT_EQ(
      feed(asha, {{0, 1, 0.5}, {0, 3, 0.5}, {0, 9, 0.9}, {1, 1, 0.6}, {1, 3, 0.6}, {1, 9, 0.1}}),
      (std::vector<Decision>{C, C, C, C, C, C}));
}

TEST(HpoAsha, HandWorkedMinimizeSequence) {
  AshaPruner asha(one_three_nine(), Direction::kMinimize);
  EXPECT_EQ(feed(asha, kMinimizeReports), kMinimizeDecisions);
  EXPECT_EQ(asha.rung_values(0),
            (std::vector<double>{0.05, 0.20, 0.40, 0.40, 0.45, 0.50, 0.55, 0.60}));
  EXPECT_EQ(asha.rung_values(1), (std::vector<double>{0.05, 0.25, 0.30, 0.35}));
  EXPECT_EQ(asha.rung_values(2), (std::vector<double>{0.10, 0.28}));
}

TEST(HpoAsha, HandWorkedMaximizeSequence) {
  AshaPruner asha(one_three_nine(), Direction::kMaximize);
  EXPECT_EQ(feed(asha, kMaximizeReports), kMaximizeDecisions);
  EXPECT_EQ(asha.rung_values(1), (std::vector<double>{0.52, 0.65, 0.80}));  // NaN not recorded
  EXPECT_EQ(asha.rung_values(2), (std::vector<double>{0.69, 0.70}));
}

TEST(HpoAsha, RebuildingFromTheSameReportsGivesTheSameDecisionsAndState) {
  for (Direction direction : {Direction::kMinimize, Direction::kMaximize}) {
    const auto& reports = direction == Direction::kMinimize ? kMinimizeReports : kMaximizeReports;
    AshaPruner live(one_three_nine(), direction);
    const std::vector<Decision> decisions = feed(live, reports);

    AshaPruner restored(one_three_nine(), direction);
    restored.record({42, 1, 0.0});  // stale state is discarded by rebuild
    EXPECT_EQ(restored.rebuild(reports), decisions);
    for (size_t rung = 0; rung < 3; ++rung) {
      EXPECT_EQ(restored.rung_values(rung), live.rung_values(rung));
    }
    // The next report is decided the same way by both.
    const std::vector<Report> next = {{8, 1, 0.45}, {8, 3, 0.5}, {9, 9, 0.3}};
    EXPECT_EQ(feed(restored, next), feed(live, next));
  }
}

TEST(HpoAsha, ReportsPastTheLastRungContinueAndPrunedTrialsStayPruned) {
  AshaPruner asha(one_three_nine(), Direction::kMinimize);
  EXPECT_EQ(feed(asha, {{0, 9, 0.1}, {1, 9, 0.2}, {1, 12, 5.0}}), (std::vector<Decision>{C, P, P}));
  EXPECT_EQ(feed(asha, {{0, 12, 5.0}}), std::vector<Decision>{C});
}

std::string error_for(AshaOptions options) {
  try {
    AshaPruner(options, Direction::kMinimize);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(HpoAsha, RejectsOptionsThatLeaveNoRung) {
  EXPECT_EQ(error_for({1, 0, 3, 0}),
            "ASHA pruner: max_resource (0) must be >= min_resource (1); set it to the number of "
            "training epochs");
  EXPECT_EQ(error_for({1, 9, 1, 0}),
            "ASHA pruner: reduction_factor must be >= 2 (got 1); 3 is the usual choice");
  EXPECT_EQ(error_for({0, 9, 3, 0}), "ASHA pruner: min_resource must be >= 1 epoch (got 0)");
  EXPECT_EQ(error_for({1, 9, 3, 2}),
            "ASHA pruner: no rung fits: min_resource * reduction_factor^min_early_stopping_rate "
            "is not below max_resource (9); lower min_early_stopping_rate or min_resource, or "
            "raise max_resource");
  EXPECT_EQ(error_for({3, 3, 3, 0}),
            "ASHA pruner: no rung fits: min_resource * reduction_factor^min_early_stopping_rate "
            "is not below max_resource (3); lower min_early_stopping_rate or min_resource, or "
            "raise max_resource");
}

}  // namespace
}  // namespace pixelrec::hpo
