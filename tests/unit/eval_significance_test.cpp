// Paired t-test and Wilcoxon signed-rank test against closed forms, textbook values and
// brute-force enumeration of sign patterns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "eval/significance.h"

namespace pixelrec::eval {
namespace {

TEST(StudentT, MatchesTableAndClosedForms) {
  EXPECT_NEAR(student_t_two_sided_p(2.0, 10), 0.0733880, 1e-7);
  EXPECT_NEAR(student_t_two_sided_p(2.228139, 10), 0.05, 1e-6);  // the 5% critical value
  EXPECT_NEAR(student_t_two_sided_p(1.0, 1), 0.5, 1e-12);        // Cauchy: 1 - 2 atan(t)/π
  EXPECT_NEAR(student_t_two_sided_p(2.0, 2), 1 - 2 / std::sqrt(6.0), 1e-12);  // 1 - t/√(2+t²)
  EXPECT_NEAR(student_t_two_sided_p(-2.0, 10), 0.0733880, 1e-7);
  EXPECT_DOUBLE_EQ(student_t_two_sided_p(0.0, 5), 1.0);
}

TEST(StudentT, IncompleteBetaMatchesBinomialSum) {
  // I_0.4(2, 3) = P(Binomial(4, 0.4) >= 2) = 0.3456 + 0.1536 + 0.0256.
  EXPECT_NEAR(regularized_incomplete_beta(2, 3, 0.4), 0.5248, 1e-13);
  EXPECT_NEAR(regularized_incomplete_beta(3, 2, 0.6), 1 - 0.5248, 1e-13);  // symmetry branch
  EXPECT_EQ(regularized_incomplete_beta(2, 3, 0.0), 0.0);
  EXPECT_EQ(regularized_incomplete_beta(2, 3, 1.0), 1.0);
}

TEST(PairedTests, HandComputedTTest) {
  // Differences 1..5: mean 3, sd √2.5, t = 3 / (√2.5/√5) = 4.2426407, df 4.
  const PairedTest t = paired_tests({2, 4, 6, 8, 10}, {1, 2, 3, 4, 5});
  EXPECT_EQ(t.n, 5u);
  EXPECT_DOUBLE_EQ(t.mean_diff, 3.0);
  EXPECT_NEAR(t.t_statistic, 4.242640687, 1e-9);
  EXPECT_NEAR(t.t_p_value, 0.0132356, 1e-7);  // numerical integration of the t density
  // All five differences positive: W- = 0, exact p = 2/32.
  EXPECT_EQ(t.wilcoxon_statistic, 0.0);
  EXPECT_DOUBLE_EQ(t.wilcoxon_p_value, 0.0625);
}

TEST(PairedTests, IdenticalSamplesAndZeroVariance) {
  const PairedTest same = paired_tests({0.1, 0.5, 0.9}, {0.1, 0.5, 0.9});
  EXPECT_EQ(same.mean_diff, 0.0);
  EXPECT_EQ(same.t_statistic, 0.0);
  EXPECT_EQ(same.t_p_value, 1.0);
  EXPECT_EQ(same.wilcoxon_p_value, 1.0);
  const PairedTest shifted = paired_tests({1, 2, 3, 4}, {0, 1, 2, 3});
  EXPECT_TRUE(std::isinf(shifted.t_statistic) && shifted.t_statistic > 0);
  EXPECT_EQ(shifted.t_p_value, 0.0);
  const PairedTest lower = paired_tests({0, 1}, {1, 2});
  EXPECT_TRUE(std::isinf(lower.t_statistic) && lower.t_statistic < 0);
  const PairedTest single = paired_tests({1.0}, {0.0});
  EXPECT_EQ(single.t_p_value, 1.0);
  EXPECT_DOUBLE_EQ(single.wilcoxon_p_value, 1.0);  // n = 1: both sign patterns are as extreme
  EXPECT_THROW(paired_tests({1, 2}, {1}), Error);
}

TEST(PairedTests, WilcoxonSmallExactCases) {
  // {1, 2, 3} all positive: W- = 0; P(W+ <= 0) = 1/8 → p = 0.25.
  EXPECT_DOUBLE_EQ(paired_tests({1, 2, 3}, {0, 0, 0}).wilcoxon_p_value, 0.25);
  // Zero differences are dropped: the same three non-zero differences.
  const PairedTest zeros = paired_tests({1, 2, 3, 5, 7}, {0, 0, 0, 5, 7});
  EXPECT_EQ(zeros.n, 5u);
  EXPECT_DOUBLE_EQ(zeros.wilcoxon_p_value, 0.25);
  // d = {+1, -2, +3, +4}: W+ = 8, W- = 2; subsets of {1..4} with sum <= 2: {}, {1}, {2} → 3/16.
  const PairedTest mixed = paired_tests({1, 0, 3, 4}, {0, 2, 0, 0});
  EXPECT_EQ(mixed.wilcoxon_statistic, 2.0);
  EXPECT_DOUBLE_EQ(mixed.wilcoxon_p_value, 2 * 3.0 / 16);
}

TEST(PairedTests, WilcoxonExactMatchesEnumerationOfSignPatterns) {
  for (size_t n = 1; n <= 12; ++n) {
    for (uint32_t observed = 0; observed < (1u << n); observed += 1 + (1u << n) / 17) {
      std::vector<double> a(n), b(n, 0.0);
      double w_plus = 0;
      for (size_t i = 0; i < n; ++i) {
        const bool positive = (observed >> i) & 1u;
        a[i] = positive ? double(i + 1) : -double(i + 1);  // |d| = rank, no ties
        if (positive) w_plus += double(i + 1);
      }
      const double total = double(n * (n + 1) / 2);
      const double w = std::min(w_plus, total - w_plus);
      size_t as_extreme = 0;
      for (uint32_t pattern = 0; pattern < (1u << n); ++pattern) {
        double s = 0;
        for (size_t i = 0; i < n; ++i)
          if ((pattern >> i) & 1u) s += double(i + 1);
        as_extreme += std::min(s, total - s) <= w;  // two-sided: as far from the centre
      }
      const PairedTest test = paired_tests(a, b);
      EXPECT_EQ(test.wilcoxon_statistic, w);
      EXPECT_NEAR(test.wilcoxon_p_value, double(as_extreme) / double(1u << n), 1e-15)
          << "n=" << n << " pattern=" << observed;
    }
  }
}

TEST(PairedTests, WilcoxonNormalApproximationWithTies) {
  // d = {1, -1, 2, 2, 2, 3}: average ranks 1.5, 1.5, 4, 4, 4, 6 → W+ = 19.5, W- = 1.5.
  // var = 6·7·13/24 - ((2³-2) + (3³-3))/48 = 22.125; z = (9 - 0.5)/√22.125 = 1.8070796.
  const PairedTest t = paired_tests({1, 0, 2, 2, 2, 3}, {0, 1, 0, 0, 0, 0});
  EXPECT_EQ(t.wilcoxon_statistic, 1.5);
  EXPECT_NEAR(t.wilcoxon_p_value, 0.0707499, 1e-7);
}

TEST(PairedTests, WilcoxonLargeSampleUsesNormalApproximation) {
  // 60 differences +1..+60 (no ties): W- = 0, mean 915, var 60·61·121/24 = 18452.5.
  std::vector<double> a(60), b(60, 0.0);
  for (size_t i = 0; i < 60; ++i) a[i] = double(i + 1);
  const PairedTest t = paired_tests(a, b);
  const double z = (915 - 0.5) / std::sqrt(18452.5);
  EXPECT_NEAR(t.wilcoxon_p_value, std::erfc(z / std::sqrt(2.0)), 1e-15);
  EXPECT_LT(t.wilcoxon_p_value, 1e-10);
}

}  // namespace
}  // namespace pixelrec::eval
