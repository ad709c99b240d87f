// Paired significance tests on per-user metric values (a model against a baseline on the same
// users): Student's paired t-test and the Wilcoxon signed-rank test, both two-sided.
#pragma once

#include <cstddef>
#include <vector>

namespace pixelrec::eval {

struct PairedTest {
  size_t n = 0;  // pairs
  double mean_diff = 0, t_statistic = 0, t_p_value = 1, wilcoxon_statistic = 0,
         wilcoxon_p_value = 1;
};

// Differences are a[i] - b[i]. t: df = n - 1 (n < 2 gives t = 0, p = 1; zero variance gives
// p = 1 when the mean difference is 0, else t = ±inf and p = 0). Wilcoxon: zero differences
// dropped, average ranks for ties, statistic min(W+, W-); exact null distribution for up to 50
// non-zero differences without ties, else the normal approximation with tie and continuity
// corrections. Throws Error when the sizes differ.
PairedTest paired_tests(const std::vector<double>& a, const std::vector<double>& b);

// Two-sided p-value of Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
double student_t_two_sided_p(double t, double df);

// Regularized incomplete beta I_x(a, b) (continued fraction, Numerical Recipes' betacf).
double regularized_incomplete_beta(double a, double b, double x);

// Two-sided exact p-value of the signed-rank statistic w (= min(W+, W-)) for n untied ranks.
double wilcoxon_exact_p(double w, size_t n);

}  // namespace pixelrec::eval
