// The univariate Parzen estimator of Optuna's TPE (optuna/samplers/_tpe/parzen_estimator.py): a
// weighted mixture with one kernel per observation plus a prior kernel. Numeric parameters use
// truncated Gaussians (in log space for log parameters, discretised for ints and stepped floats);
// categorical parameters use smoothed one-hot counts.
#pragma once

#include <cstddef>
#include <vector>

#include "core/rng.h"
#include "hpo/space.h"

namespace pixelrec::hpo {

// Optuna's _ParzenEstimatorParameters (univariate), with Optuna's defaults.
struct ParzenOptions {
  double prior_weight = 1.0;
  bool consider_prior = true;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
};

// log(Phi(b) - Phi(a)) for a < b, accurate far into either tail (Optuna's _log_gauss_mass).
double log_gauss_mass(double a, double b);

// A draw from N(mu, sigma^2) truncated to [low, high], by inversion of the CDF.
double sample_truncated_normal(double mu, double sigma, double low, double high, Rng& rng);

class ParzenEstimator {
 public:
  // `observations` are parameter values (category indices for categorical parameters), in trial
  // order; `weights` holds one non-negative weight per observation (TPE's default_weights).
  ParzenEstimator(const ParamSpec& spec, const std::vector<double>& observations,
                  const std::vector<double>& weights, const ParzenOptions& options);

  // A value in the parameter's own units: on the grid for discrete parameters, an index for
  // categorical ones.
  double sample(Rng& rng) const;
  // Log density (log probability mass for discrete and categorical parameters) of `value`.
  double log_pdf(double value) const;

  // The mixture, prior kernel last. Weights sum to 1; mus and sigmas are in the transformed
  // space (log for log parameters) and are empty for categorical parameters.
  const std::vector<double>& weights() const { return weights_; }
  const std::vector<double>& mus() const { return mus_; }
  const std::vector<double>& sigmas() const { return sigmas_; }

 private:
  void fit_weights(const std::vector<double>& weights, bool with_prior, double prior_weight);
  void fit_numeric(const std::vector<double>& observations, const ParzenOptions& options,
                   bool with_prior);
  void fit_categorical(const std::vector<double>& observations, double prior_weight,
                       bool with_prior);
  std::vector<double> neighbour_sigmas(const std::vector<double>& mus, bool with_prior,
                                       bool consider_endpoints) const;
  size_t pick_kernel(Rng& rng) const;
  double transform(double v) const;
  double numeric_log_pdf(double value) const;

  bool categorical_ = false;
  bool discrete_ = false;
  bool log_ = false;
  double low_ = 0.0, high_ = 0.0, step_ = 0.0;  // user space
  double lo_t_ = 0.0, hi_t_ = 0.0;              // truncation bounds, transformed space
  std::vector<double> weights_;
  std::vector<double> mus_, sigmas_;
  std::vector<double> log_coef_;  // per kernel: log weight - log truncated mass (- log sigma)
  size_t n_choices_ = 0;
  std::vector<double> category_probs_;  // kernels x choices, each row sums to 1
};

}  // namespace pixelrec::hpo
