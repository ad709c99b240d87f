// Random search: every parameter independently uniform over its range (log-uniform for log
// parameters, uniform over the grid for ints and stepped floats, uniform over categorical choices).
// TPESampler also uses it for its start-up trials.
#pragma once

#include <cstdint>

#include "core/rng.h"
#include "hpo/sampler.h"

namespace pixelrec::hpo {

class RandomSampler final : public Sampler {
 public:
  explicit RandomSampler(uint64_t seed) : Sampler(seed) {}

  // One uniform draw for `spec` (Optuna's RandomSampler.sample_independent).
  static ParamValue sample_uniform(const ParamSpec& spec, Rng& rng);

 protected:
  ParamValue sample_param(const SearchSpace& space, const ParamSpec& spec,
                          const TrialHistory& history, Rng& rng) override {
    return sample_uniform(spec, rng);
  }
};

}  // namespace pixelrec::hpo
