#include "hpo/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/errors.h"
#include "hpo/random_sampler.h"

namespace pixelrec::hpo {

int64_t default_gamma(int64_t n) {
  return std::min<int64_t>(static_cast<int64_t>(std::ceil(0.1 * static_cast<double>(n))), 25);
}

std::vector<double> default_weights(int64_t n) {
  if (n < 25) return std::vector<double>(static_cast<size_t>(std::max<int64_t>(n, 0)), 1.0);
  // numpy.linspace(1/n, 1, n - 25), then 25 ones.
  const int64_t ramp = n - 25;
  std::vector<double> weights;
  weights.reserve(static_cast<size_t>(n));
  const double start = 1.0 / static_cast<double>(n);
  for (int64_t i = 0; i < ramp; ++i) {
    weights.push_back(ramp == 1 ? start
                                : start + (1.0 - start) * static_cast<double>(i) /
                                              static_cast<double>(ramp - 1));
  }
  weights.resize(static_cast<size_t>(n), 1.0);
  return weights;
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A finished trial's rank key, as Optuna's _get_observation_pairs: complete trials first (step key
// -inf) by signed value; pruned trials after them, later last step first, then by the signed value
// at that step; pruned trials that reported nothing last. NaN values rank worst within their group.
struct Observation {
  size_t trial_index;
  double step_key;
  double loss;
};

std::vector<Observation> ranked_observations(const TrialHistory& history, Direction direction) {
  const double sign = direction == Direction::kMinimize ? 1.0 : -1.0;
  const auto signed_loss = [sign](double v) { return std::isnan(v) ? kInf : sign * v; };
  std::vector<Observation> observations;
  const auto& trials = history.trials();
  for (size_t i = 0; i < trials.size(); ++i) {
    const FrozenTrial& t = trials[i];
    if (t.state == TrialState::kComplete && t.value) {
      observations.push_back({i, -kInf, signed_loss(*t.value)});
    } else if (t.state == TrialState::kPruned && t.intermediate_values.empty()) {
      observations.push_back({i, kInf, 0.0});
    } else if (t.state == TrialState::kPruned) {
      const auto& [step, value] = *t.intermediate_values.rbegin();
      observations.push_back({i, -static_cast<double>(step), signed_loss(value)});
    }
  }
  return observations;
}

// The parameter's value in `trial` as the Parzen estimator sees it, or NaN when the trial did not
// use it (inactive condition) or holds a value outside the current space (the space changed).
double internal_value(const ParamSpec& spec, const FrozenTrial& trial) {
  const auto it = trial.params.find(spec.name);
  if (it == trial.params.end()) return std::nan("");
  if (spec.type == ParamType::kCategorical) {
    const int index = spec.choice_index(it->second);
    return index < 0 ? std::nan("") : static_cast<double>(index);
  }
  if (std::holds_alternative<bool>(it->second) || std::holds_alternative<std::string>(it->second)) {
    return std::nan("");
  }
  const double v = numeric_value(it->second);
  return v >= spec.low && v <= spec.high ? v : std::nan("");
}

}  // namespace

TpeSampler::TpeSampler(uint64_t seed, TpeOptions options) : Sampler(seed), options_(options) {
  if (options_.n_startup_trials < 0) {
    throw ConfigError("TPE n_startup_trials must be >= 0 (got " +
                      std::to_string(options_.n_startup_trials) + ")");
  }
  if (options_.n_ei_candidates < 1) {
    throw ConfigError("TPE n_ei_candidates must be >= 1 (got " +
                      std::to_string(options_.n_ei_candidates) + "); Optuna's default is 24");
  }
  if (!(options_.parzen.prior_weight > 0.0)) {
    throw ConfigError("TPE prior_weight must be > 0 (got " +
                      std::to_string(options_.parzen.prior_weight) + "); Optuna's default is 1.0");
  }
}

ParamValue TpeSampler::sample_param(const SearchSpace& space, const ParamSpec& spec,
                                    const TrialHistory& history, Rng& rng) {
  const std::vector<Observation> observations = ranked_observations(history, space.direction());
  const auto n = static_cast<int64_t>(observations.size());
  if (n < options_.n_startup_trials) return RandomSampler::sample_uniform(spec, rng);

  std::vector<size_t> order(observations.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) {
    const Observation &a = observations[i], &b = observations[j];
    return a.step_key != b.step_key ? a.step_key < b.step_key : a.loss < b.loss;
  });
  std::vector<bool> is_below(observations.size(), false);
  for (int64_t r = 0; r < default_gamma(n); ++r) is_below[order[static_cast<size_t>(r)]] = true;

  // Both groups keep trial order, which default_weights relies on (newest weigh most).
  std::vector<double> below, above;
  for (size_t i = 0; i < observations.size(); ++i) {
    const double v = internal_value(spec, history.trials()[observations[i].trial_index]);
    if (!std::isnan(v)) (is_below[i] ? below : above).push_back(v);
  }
  const ParzenEstimator l(spec, below, default_weights(static_cast<int64_t>(below.size())),
                          options_.parzen);
  const ParzenEstimator g(spec, above, default_weights(static_cast<int64_t>(above.size())),
                          options_.parzen);
  // Discrete and categorical candidates often repeat (24 draws on a few grid values): each
  // distinct value is scored once, which with many observations is most of the sampler's time.
  std::vector<double> scored, scores;
  scored.reserve(static_cast<size_t>(options_.n_ei_candidates));
  scores.reserve(scored.capacity());
  double best = 0.0;
  double best_score = -kInf;
  for (int i = 0; i < options_.n_ei_candidates; ++i) {
    const double candidate = l.sample(rng);
    const auto seen = std::find(scored.begin(), scored.end(), candidate);
    double score;
    if (seen != scored.end()) {
      score = scores[static_cast<size_t>(seen - scored.begin())];
    } else {
      score = l.log_pdf(candidate) - g.log_pdf(candidate);
      scored.push_back(candidate);
      scores.push_back(score);
    }
    if (i == 0 || score > best_score) {  // the first candidate wins ties and NaN scores
      best = candidate;
      best_score = score;
    }
  }
  return spec.to_value(best);
}

}  // namespace pixelrec::hpo
