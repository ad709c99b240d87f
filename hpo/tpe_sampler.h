// Tree-structured Parzen Estimator sampling, univariate, with Optuna's defaults and algorithm
// (optuna/samplers/_tpe/sampler.py): random for the first trials, then per parameter a Parzen
// estimator l(x) of the best gamma(n) trials and g(x) of the rest; the candidate drawn from l
// with the largest log l(x) - log g(x) wins.
#pragma once

#include <cstdint>
#include <vector>

#include "hpo/parzen_estimator.h"
#include "hpo/sampler.h"

namespace pixelrec::hpo {

struct TpeOptions {
  int n_startup_trials = 10;  // finished (COMPLETE or PRUNED) trials sampled at random first
  int n_ei_candidates = 24;
  ParzenOptions parzen;
};

// Optuna's default_gamma: the number of trials in the "below" (good) group, min(ceil(0.1 n), 25).
int64_t default_gamma(int64_t n);

// Optuna's default_weights: all ones below 25 observations; otherwise a ramp from 1/n to 1 over
// the oldest n - 25 observations followed by 25 ones (newer observations weigh more).
std::vector<double> default_weights(int64_t n);

class TpeSampler final : public Sampler {
 public:
  // Throws ConfigError for options that cannot work (no candidates, a non-positive prior weight).
  explicit TpeSampler(uint64_t seed, TpeOptions options = {});

 protected:
  ParamValue sample_param(const SearchSpace& space, const ParamSpec& spec,
                          const TrialHistory& history, Rng& rng) override;

 private:
  TpeOptions options_;
};

}  // namespace pixelrec::hpo
