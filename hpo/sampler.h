// The sampler interface: suggests the parameters of a new trial from the search space and the
// study's history. Each parameter draws from its own seeded stream keyed on (seed, trial number,
// parameter position), so a suggestion depends only on the seed and the history, never on call
// order.
#pragma once

#include <cstdint>
#include <utility>

#include "core/rng.h"
#include "hpo/space.h"
#include "hpo/trial.h"

namespace pixelrec::hpo {

class Sampler {
 public:
  explicit Sampler(uint64_t seed) : seed_(seed) {}
  virtual ~Sampler() = default;

  // Values for every parameter that is active given the values chosen before it.
  ParamMap sample(const SearchSpace& space, const TrialHistory& history, int64_t trial_number) {
    ParamMap params;
    for (size_t i = 0; i < space.params().size(); ++i) {
      const ParamSpec& spec = space.params()[i];
      if (!SearchSpace::is_active(spec, params)) continue;
      Rng rng = Rng::stream(seed_, {static_cast<uint64_t>(trial_number), i});
      params.emplace(spec.name, sample_param(space, spec, history, rng));
    }
    return params;
  }

 protected:
  virtual ParamValue sample_param(const SearchSpace& space, const ParamSpec& spec,
                                  const TrialHistory& history, Rng& rng) = 0;

 private:
  uint64_t seed_;
};

}  // namespace pixelrec::hpo
