#include "eval/significance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/errors.h"

namespace pixelrec::eval {

namespace {

constexpr size_t kMaxExactWilcoxon = 50;

// Lentz's continued fraction for the incomplete beta function (Numerical Recipes §6.4).
double beta_continued_fraction(double a, double b, double x) {
  constexpr int kMaxIterations = 300;
  constexpr double kEpsilon = 1e-15, kTiny = 1e-300;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return h;
}

void t_test(const std::vector<double>& diff, PairedTest& out) {
  const size_t n = diff.size();
  if (n < 2) return;  // t = 0, p = 1: one pair says nothing about variance
  double mean = 0;
  for (double d : diff) mean += d;
  mean /= double(n);
  double squares = 0;
  for (double d : diff) squares += (d - mean) * (d - mean);
  const double sd = std::sqrt(squares / double(n - 1));
  if (sd == 0) {
    if (mean == 0) return;
    out.t_statistic = mean > 0 ? std::numeric_limits<double>::infinity()
                               : -std::numeric_limits<double>::infinity();
    out.t_p_value = 0;
    return;
  }
  out.t_statistic = mean / (sd / std::sqrt(double(n)));
  out.t_p_value = student_t_two_sided_p(out.t_statistic, double(n - 1));
}

void wilcoxon_test(const std::vector<double>& diff, PairedTest& out) {
  std::vector<double> nonzero;
  for (double d : diff)
    if (d != 0) nonzero.push_back(d);
  const size_t n = nonzero.size();
  if (n == 0) return;  // statistic 0, p 1: no evidence either way
  std::sort(nonzero.begin(), nonzero.end(),
            [](double x, double y) { return std::fabs(x) < std::fabs(y); });
  double w_plus = 0, tie_term = 0;  // tie_term: sum over tie groups of t^3 - t
  bool ties = false;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && std::fabs(nonzero[j]) == std::fabs(nonzero[i])) ++j;
    const double average_rank = (double(i + 1) + double(j)) / 2.0;  // ranks i+1 .. j
    for (size_t m = i; m < j; ++m)
      if (nonzero[m] > 0) w_plus += average_rank;
    const double t = double(j - i);
    if (j - i > 1) ties = true;
    tie_term += t * t * t - t;
    i = j;
  }
  const double total = double(n) * double(n + 1) / 2.0;
  const double w = std::min(w_plus, total - w_plus);
  out.wilcoxon_statistic = w;
  if (n <= kMaxExactWilcoxon && !ties) {
    out.wilcoxon_p_value = wilcoxon_exact_p(w, n);
    return;
  }
  const double mean = total / 2.0;
  const double variance = double(n) * double(n + 1) * double(2 * n + 1) / 24.0 - tie_term / 48.0;
  if (variance <= 0) return;
  const double z = std::max(0.0, std::fabs(w_plus - mean) - 0.5) / std::sqrt(variance);
  out.wilcoxon_p_value = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
}

}  // namespace

double regularized_incomplete_beta(double a, double b, double x) {
  PIXELREC_CHECK(a > 0 && b > 0 && x >= 0 && x <= 1, "incomplete beta outside its domain");
  if (x == 0 || x == 1) return x;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(a, b, x) / a;
  return 1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_two_sided_p(double t, double df) {
  PIXELREC_CHECK(df > 0, "t distribution needs positive degrees of freedom");
  if (std::isinf(t)) return 0.0;
  return regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

double wilcoxon_exact_p(double w, size_t n) {
  PIXELREC_CHECK(n >= 1 && n <= kMaxExactWilcoxon, "exact Wilcoxon needs 1..50 ranks");
  // ways[s] = number of subsets of ranks {1..n} summing to s (= sign patterns with W+ = s).
  const size_t max_sum = n * (n + 1) / 2;
  std::vector<double> ways(max_sum + 1, 0.0);
  ways[0] = 1;
  for (size_t rank = 1; rank <= n; ++rank)
    for (size_t s = max_sum; s >= rank; --s) ways[s] += ways[s - rank];
  const double patterns = std::ldexp(1.0, int(n));
  double at_most = 0;
  for (size_t s = 0; s <= max_sum && double(s) <= w; ++s) at_most += ways[s];
  return std::min(1.0, 2.0 * at_most / patterns);
}

PairedTest paired_tests(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    throw Error("paired tests need the same users on both sides, got " + std::to_string(a.size()) +
                " and " + std::to_string(b.size()) +
                " values; compare results of the same split, part and task");
  PairedTest out;
  out.n = a.size();
  std::vector<double> diff(a.size());
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff[i] = a[i] - b[i];
    sum += diff[i];
  }
  if (out.n > 0) out.mean_diff = sum / double(out.n);
  t_test(diff, out);
  wilcoxon_test(diff, out);
  return out;
}

}  // namespace pixelrec::eval
