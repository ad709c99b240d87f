#include "hpo/random_sampler.h"

#include <algorithm>
#include <cmath>

namespace pixelrec::hpo {

ParamValue RandomSampler::sample_uniform(const ParamSpec& spec, Rng& rng) {
  if (spec.type == ParamType::kCategorical)
    return spec.choices[rng.below(spec.choices.size())].value;
  if (spec.log && spec.is_discrete()) {
    // Log-uniform over [low - step/2, high + step/2], rounded to the grid (as Optuna does).
    const double half = spec.step / 2;
    const double x = std::exp(rng.uniform(std::log(spec.low - half), std::log(spec.high + half)));
    const double k = std::round((x - spec.low) / spec.step);
    return spec.to_value(std::clamp(spec.low + k * spec.step, spec.low, spec.high));
  }
  if (spec.is_discrete()) {
    const auto intervals = static_cast<uint64_t>(std::llround((spec.high - spec.low) / spec.step));
    const double k = static_cast<double>(rng.below(intervals + 1));
    return spec.to_value(std::min(spec.low + k * spec.step, spec.high));
  }
  if (spec.log) {
    const double x = std::exp(rng.uniform(std::log(spec.low), std::log(spec.high)));
    return std::clamp(x, spec.low, spec.high);
  }
  return rng.uniform(spec.low, spec.high);
}

}  // namespace pixelrec::hpo
