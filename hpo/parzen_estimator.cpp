#include "hpo/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/errors.h"

namespace pixelrec::hpo {

namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))
constexpr double kSqrt2Pi = 2.50662827463100050242;
constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kMinSigma = 1e-12;  // Optuna's EPS when the magic clip is off

// Phi(x) for x <= 0; erfc keeps full relative precision in the lower tail.
double ndtr_lower(double x) { return 0.5 * std::erfc(-x * kSqrtHalf); }

// log Phi(x) for x <= 0, without underflow far in the tail (asymptotic series below -30).
double log_ndtr_lower(double x) {
  if (x == kNegInf) return kNegInf;
  if (x > -30.0) return std::log(ndtr_lower(x));
  const double z = 1.0 / (x * x);
  const double series = 1.0 - z * (1.0 - 3.0 * z * (1.0 - 5.0 * z * (1.0 - 7.0 * z)));
  return -0.5 * x * x - kLogSqrt2Pi - std::log(-x) + std::log(series);
}

// log(exp(la) - exp(lb)) for la >= lb.
double log_diff(double la, double lb) {
  if (lb == kNegInf) return la;
  if (la <= lb) return kNegInf;
  return la + std::log1p(-std::exp(lb - la));
}

// Inverse of Phi on (0, 0.5]: Acklam's rational approximation plus one Halley step.
double lower_quantile(double p) {
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549671010029036e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  const double u = (ndtr_lower(x) - p) * kSqrt2Pi * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

// Standard normal truncated to [a, b] with a + b <= 0 (the lower tail, where Phi is precise).
double standard_truncated_lower(double a, double b, Rng& rng) {
  const double pa = ndtr_lower(a);  // a < 0 since a < b and a + b <= 0
  const double pb = b <= 0.0 ? ndtr_lower(b) : 1.0 - ndtr_lower(-b);
  const double u = pa + rng.uniform() * (pb - pa);
  if (u <= 0.0) return a;
  const double x = u <= 0.5 ? lower_quantile(u) : -lower_quantile(1.0 - u);
  return std::clamp(x, a, b);
}

// A term this far below the running maximum adds exp(-40) < 2^-57 to the running sum, which is
// >= 1: less than half an ulp, so the sum is unchanged and skipping the term is exact.
constexpr double kNegligibleGap = 40.0;

// Streaming log-sum-exp: no buffer of terms needed.
class LogSumExp {
 public:
  // True when any term <= `upper_bound` would leave the result bit-identical, so the caller may
  // skip computing it.
  bool negligible(double upper_bound) const { return upper_bound < max_ - kNegligibleGap; }

  void add(double term) {
    if (term == kNegInf || negligible(term)) return;
    if (term > max_) {
      sum_ = sum_ * std::exp(max_ - term) + 1.0;
      max_ = term;
    } else {
      sum_ += std::exp(term - max_);
    }
  }
  double value() const { return max_ == kNegInf ? kNegInf : max_ + std::log(sum_); }

 private:
  double max_ = kNegInf;
  double sum_ = 0.0;
};

}  // namespace

double log_gauss_mass(double a, double b) {
  if (a >= b) return kNegInf;
  if (b <= 0.0) return log_diff(log_ndtr_lower(b), log_ndtr_lower(a));
  if (a >= 0.0) return log_gauss_mass(-b, -a);
  return std::log1p(-ndtr_lower(a) - ndtr_lower(-b));  // the interval holds 0: mass >= ~0.5 tail
}

double sample_truncated_normal(double mu, double sigma, double low, double high, Rng& rng) {
  const double a = (low - mu) / sigma, b = (high - mu) / sigma;
  if (!(a < b)) return low;
  const double x =
      a + b <= 0.0 ? standard_truncated_lower(a, b, rng) : -standard_truncated_lower(-b, -a, rng);
  return std::clamp(mu + sigma * x, low, high);
}

ParzenEstimator::ParzenEstimator(const ParamSpec& spec, const std::vector<double>& observations,
                                 const std::vector<double>& weights, const ParzenOptions& options)
    : categorical_(spec.type == ParamType::kCategorical),
      discrete_(spec.is_discrete()),
      log_(spec.log),
      low_(spec.low),
      high_(spec.high),
      step_(spec.step),
      n_choices_(spec.choices.size()) {
  PIXELREC_CHECK(observations.size() == weights.size(), "one weight per observation");
  const bool with_prior = options.consider_prior || observations.empty();
  fit_weights(weights, with_prior, options.prior_weight);
  if (categorical_) {
    fit_categorical(observations, options.prior_weight, with_prior);
  } else {
    fit_numeric(observations, options, with_prior);
  }
}

void ParzenEstimator::fit_weights(const std::vector<double>& weights, bool with_prior,
                                  double prior_weight) {
  weights_ = weights;
  if (weights_.empty()) {
    weights_ = {1.0};
  } else if (with_prior) {
    weights_.push_back(prior_weight);
  }
  const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  PIXELREC_CHECK(total > 0.0, "Parzen weights must not all be zero");
  for (double& w : weights_) w /= total;
}

double ParzenEstimator::transform(double v) const { return log_ ? std::log(v) : v; }

void ParzenEstimator::fit_numeric(const std::vector<double>& observations,
                                  const ParzenOptions& options, bool with_prior) {
  const double half = discrete_ ? step_ / 2 : 0.0;
  lo_t_ = transform(low_ - half);
  hi_t_ = transform(high_ + half);
  const double range = hi_t_ - lo_t_;
  mus_.clear();
  for (double v : observations) mus_.push_back(transform(v));
  sigmas_ = neighbour_sigmas(mus_, with_prior, options.consider_endpoints);

  const double n_kernels = static_cast<double>(observations.size() + (with_prior ? 1 : 0));
  const double min_sigma =
      options.consider_magic_clip ? range / std::min(100.0, 1.0 + n_kernels) : kMinSigma;
  for (double& s : sigmas_) s = std::clamp(s, min_sigma, range);
  if (with_prior) {
    mus_.push_back(0.5 * (lo_t_ + hi_t_));
    sigmas_.push_back(range);
  }
  log_coef_.resize(mus_.size());
  for (size_t k = 0; k < mus_.size(); ++k) {
    const double mass =
        log_gauss_mass((lo_t_ - mus_[k]) / sigmas_[k], (hi_t_ - mus_[k]) / sigmas_[k]);
    log_coef_[k] =
        std::log(weights_[k]) - mass - (discrete_ ? 0.0 : std::log(sigmas_[k]) + kLogSqrt2Pi);
  }
}

// Optuna's univariate bandwidth: each kernel's sigma is the larger distance to its neighbours in
// sorted order (the range ends count as neighbours); without consider_endpoints the outermost
// kernels use their inner neighbour only.
std::vector<double> ParzenEstimator::neighbour_sigmas(const std::vector<double>& mus,
                                                      bool with_prior,
                                                      bool consider_endpoints) const {
  std::vector<double> points = mus;
  if (with_prior) points.push_back(0.5 * (lo_t_ + hi_t_));
  std::vector<size_t> order(points.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t i, size_t j) { return points[i] < points[j]; });

  std::vector<double> edges{lo_t_};  // lo, sorted points, hi
  for (size_t i : order) edges.push_back(points[i]);
  edges.push_back(hi_t_);
  const size_t m = points.size();
  std::vector<double> sorted_sigmas(m);
  for (size_t i = 0; i < m; ++i) {
    sorted_sigmas[i] = std::max(edges[i + 1] - edges[i], edges[i + 2] - edges[i + 1]);
  }
  if (!consider_endpoints && edges.size() >= 4) {
    sorted_sigmas[0] = edges[2] - edges[1];
    sorted_sigmas[m - 1] = edges[m] - edges[m - 1];
  }
  std::vector<double> sigmas(m);
  for (size_t i = 0; i < m; ++i) sigmas[order[i]] = sorted_sigmas[i];
  sigmas.resize(mus.size());  // the prior's own sigma is the full range
  return sigmas;
}

void ParzenEstimator::fit_categorical(const std::vector<double>& observations, double prior_weight,
                                      bool with_prior) {
  const size_t n_kernels = observations.size() + (with_prior ? 1 : 0);
  const double smoothing = prior_weight / static_cast<double>(n_kernels);
  category_probs_.assign(n_kernels * n_choices_, smoothing);
  for (size_t k = 0; k < observations.size(); ++k) {
    category_probs_[k * n_choices_ + static_cast<size_t>(observations[k])] += 1.0;
  }
  for (size_t k = 0; k < n_kernels; ++k) {
    const auto row = category_probs_.begin() + static_cast<std::ptrdiff_t>(k * n_choices_);
    const double total = std::accumulate(row, row + static_cast<std::ptrdiff_t>(n_choices_), 0.0);
    std::for_each(row, row + static_cast<std::ptrdiff_t>(n_choices_),
                  [total](double& p) { p /= total; });
  }
}

size_t ParzenEstimator::pick_kernel(Rng& rng) const {
  const double u = rng.uniform();
  double cumulative = 0.0;
  for (size_t k = 0; k + 1 < weights_.size(); ++k) {
    cumulative += weights_[k];
    if (u < cumulative) return k;
  }
  return weights_.size() - 1;
}

double ParzenEstimator::sample(Rng& rng) const {
  const size_t k = pick_kernel(rng);
  if (categorical_) {
    const double u = rng.uniform();
    double cumulative = 0.0;
    for (size_t c = 0; c + 1 < n_choices_; ++c) {
      cumulative += category_probs_[k * n_choices_ + c];
      if (u < cumulative) return static_cast<double>(c);
    }
    return static_cast<double>(n_choices_ - 1);
  }
  const double t = sample_truncated_normal(mus_[k], sigmas_[k], lo_t_, hi_t_, rng);
  const double v = log_ ? std::exp(t) : t;
  if (!discrete_) return std::clamp(v, low_, high_);
  return std::clamp(low_ + std::round((v - low_) / step_) * step_, low_, high_);
}

double ParzenEstimator::log_pdf(double value) const {
  if (!categorical_) return numeric_log_pdf(value);
  const auto c = static_cast<size_t>(value);
  double p = 0.0;
  for (size_t k = 0; k < weights_.size(); ++k)
    p += weights_[k] * category_probs_[k * n_choices_ + c];
  return std::log(p);
}

double ParzenEstimator::numeric_log_pdf(double value) const {
  LogSumExp total;
  if (discrete_) {
    // Probability mass of the grid cell [value - step/2, value + step/2].
    const double a = transform(value - step_ / 2), b = transform(value + step_ / 2);
    // A kernel's mass over the cell is at most 1 and at most the cell's width (in sigmas) times
    // the density at the cell's point nearest the mean; that bound skips the (costly) exact mass
    // of kernels too far away to change the sum, which with many kernels is most of them.
    const double min_sigma = *std::min_element(sigmas_.begin(), sigmas_.end());
    const double log_width = std::log((b - a) / min_sigma) - kLogSqrt2Pi;
    for (size_t k = 0; k < mus_.size(); ++k) {
      const double za = (a - mus_[k]) / sigmas_[k], zb = (b - mus_[k]) / sigmas_[k];
      const double gap = za > 0.0 ? za : zb < 0.0 ? -zb : 0.0;
      if (total.negligible(log_coef_[k] + std::min(0.0, log_width - 0.5 * gap * gap))) continue;
      total.add(log_coef_[k] + log_gauss_mass(za, zb));
    }
    return total.value();
  }
  const double x = transform(value);
  for (size_t k = 0; k < mus_.size(); ++k) {
    const double z = (x - mus_[k]) / sigmas_[k];
    total.add(log_coef_[k] - 0.5 * z * z);
  }
  return total.value();
}

}  // namespace pixelrec::hpo
