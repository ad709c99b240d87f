// Parameter importance: the exact eta^2 / epsilon^2 formulas, quantile bins with ties, inactive
// trials as their own group, undefined cases, and a constructed study where one parameter
// determines the objective.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "report/param_importance.h"

namespace pixelrec::report {
namespace {

TEST(ReportImportance, CategoricalEtaAndEpsilonSquaredMatchTheFormulas) {
  // y = 1..6 grouped {a: 1,2,3} {b: 4,5,6}: SS_total 17.5, SS_between 13.5, SS_within 4.
  const std::vector<std::optional<double>> y = {1, 2, 3, 4, 5, 6};
  const auto r = parameter_importance(y, {{"cat", {"a", "a", "a", "b", "b", "b"}}});
  ASSERT_EQ(r.params.size(), 1u);
  EXPECT_EQ(r.trials, 6u);
  EXPECT_FALSE(r.params[0].numeric);
  EXPECT_EQ(r.params[0].groups, 2u);
  EXPECT_NEAR(r.params[0].eta_squared, 13.5 / 17.5, 1e-12);
  EXPECT_NEAR(r.params[0].epsilon_squared, 1.0 - (4.0 / 4.0) / (17.5 / 5.0), 1e-12);
  EXPECT_DOUBLE_EQ(r.params[0].importance, 1.0);
  EXPECT_TRUE(r.undefined_reason.empty());
}

TEST(ReportImportance, OnlyCompleteFiniteTrialsCountAndInactiveTrialsFormAGroup) {
  const std::vector<std::optional<double>> y = {1, std::nullopt, 2, NAN, 10, 11};
  const auto r = parameter_importance(y, {{"momentum", {"", "0.9", "", "0.5", "0.9", "0.8"}},
                                          {"opt", {"a", "b", "a", "b", "b", "b"}}});
  EXPECT_EQ(r.trials, 4u);
  // momentum over used trials {"", "", "0.9", "0.8"}: numeric values 0.8, 0.9 in 2 bins + inactive.
  EXPECT_TRUE(r.params[0].numeric);
  EXPECT_EQ(r.params[0].groups, 3u);
  // opt: {a, a, b, b}; same partition of y as momentum's inactive group vs the rest.
  EXPECT_EQ(r.params[1].groups, 2u);
  const double mean = 6, ss_total = 25 + 16 + 16 + 25;
  const double ss_between = 2 * (1.5 - mean) * (1.5 - mean) + 2 * (10.5 - mean) * (10.5 - mean);
  EXPECT_NEAR(r.params[1].eta_squared, ss_between / ss_total, 1e-12);
  EXPECT_NEAR(r.params[0].eta_squared, (2 * 4.5 * 4.5 + 16 + 25) / ss_total, 1e-12);
  EXPECT_NEAR(r.params[0].importance + r.params[1].importance, 1.0, 1e-12);
}

TEST(ReportImportance, QuantileBinsKeepEqualValuesTogether) {
  EXPECT_EQ(quantile_bins(3), 2u);
  EXPECT_EQ(quantile_bins(16), 4u);
  EXPECT_EQ(quantile_bins(1000), 10u);
  // 9 trials → 3 bins by rank (0-2, 3-5, 6-8). The five 1s span bins 0 and 1 but stay one
  // group; the 2 (rank 5, bin 1) starts the next group and 3..5 (bin 2) the last:
  // groups {y 0..4}, {y 5}, {y 6..8} with means 2, 5, 7 → SS_between 48 of SS_total 60.
  std::vector<std::optional<double>> y;
  for (int i = 0; i < 9; ++i) y.emplace_back(i);
  const auto r = parameter_importance(y, {{"x", {"1", "1", "1", "1", "1", "2", "3", "4", "5"}}});
  EXPECT_EQ(r.params[0].groups, 3u);
  EXPECT_NEAR(r.params[0].eta_squared, 48.0 / 60.0, 1e-12);
  const auto distinct =
      parameter_importance(y, {{"x", {"1", "2", "3", "4", "5", "6", "7", "8", "9"}}});
  EXPECT_EQ(distinct.params[0].groups, 3u);
  EXPECT_NEAR(distinct.params[0].eta_squared, 54.0 / 60.0, 1e-12);  // means 1, 4, 7
}

TEST(ReportImportance, UndefinedCasesSayWhy) {
  EXPECT_EQ(parameter_importance({1, 2}, {{"x", {"1", "2"}}}).undefined_reason,
            "fewer than 3 COMPLETE trials with a finite value");
  EXPECT_EQ(parameter_importance({1, 1, 1, 1}, {{"x", {"1", "2", "3", "4"}}}).undefined_reason,
            "the objective has the same value in every COMPLETE trial");
  const auto r = parameter_importance({1, 2, 3, 4}, {{"x", {"a", "a", "a", "a"}}});
  EXPECT_EQ(r.undefined_reason, "no parameter explains more of the objective than chance");
  EXPECT_EQ(r.params[0].importance, 0.0);
}

TEST(ReportImportance, TheParameterThatDeterminesTheObjectiveDominates) {
  // 60 trials: y = (lr - 0.3)^2 * 10 + 0.01 * noise; batch (numeric) and opt (categorical) are
  // drawn independently and do not enter y.
  std::vector<std::optional<double>> y;
  ParamColumn lr{"lr", {}}, batch{"batch", {}}, opt{"opt", {}};
  const char* opts[] = {"adam", "sgd", "adamw"};
  for (uint64_t t = 0; t < 60; ++t) {
    Rng rng = Rng::stream(7, {t});
    const double x = rng.uniform();
    const double noise = rng.uniform() - 0.5;
    batch.values.push_back(std::to_string(32 << (rng.next() % 4)));
    opt.values.push_back(opts[rng.next() % 3]);
    lr.values.push_back(std::to_string(x));
    y.emplace_back((x - 0.3) * (x - 0.3) * 10 + 0.01 * noise);
  }
  const auto r = parameter_importance(y, {batch, lr, opt});
  ASSERT_TRUE(r.undefined_reason.empty());
  EXPECT_EQ(r.params[1].name, "lr");
  EXPECT_TRUE(r.params[1].numeric);
  EXPECT_EQ(r.params[1].groups, 7u);  // floor(sqrt(60)) bins
  EXPECT_GT(r.params[1].importance, 0.8);
  EXPECT_GT(r.params[1].epsilon_squared, 0.9);
  EXPECT_LT(r.params[0].importance, 0.1);
  EXPECT_LT(r.params[2].importance, 0.1);
  EXPECT_NEAR(r.params[0].importance + r.params[1].importance + r.params[2].importance, 1.0, 1e-12);
}

}  // namespace
}  // namespace pixelrec::report
