#include "hpo/median_pruner.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/errors.h"

namespace pixelrec::hpo {

namespace {

// numpy.percentile(values, 50): the middle value, or the mean of the two middle values.
double median(std::vector<double>& values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace

MedianPruner::MedianPruner(const MedianOptions& options, Direction direction)
    : options_(options), direction_(direction) {
  require_pruner_option(
      options.n_startup_trials >= 0, "median pruner",
      "n_startup_trials must be >= 0 (got " + std::to_string(options.n_startup_trials) + ")");
  require_pruner_option(
      options.n_warmup_steps >= 0, "median pruner",
      "n_warmup_steps must be >= 0 (got " + std::to_string(options.n_warmup_steps) + ")");
  require_pruner_option(
      options.interval_steps >= 1, "median pruner",
      "interval_steps must be >= 1 (got " + std::to_string(options.interval_steps) + ")");
  require_pruner_option(
      options.n_min_trials >= 1, "median pruner",
      "n_min_trials must be >= 1 (got " + std::to_string(options.n_min_trials) + ")");
}

// Optuna's _is_first_in_interval_step: check only the first report at or after each interval
// boundary (warm-up + j * interval_steps).
bool MedianPruner::is_check_step(const FrozenTrial& trial, int64_t step) const {
  const int64_t boundary =
      (step - options_.n_warmup_steps) / options_.interval_steps * options_.interval_steps +
      options_.n_warmup_steps;
  int64_t previous = -1;
  for (const auto& [s, value] : trial.intermediate_values) {
    if (s < step) previous = s;
  }
  return previous < boundary;
}

Decision MedianPruner::decide(const TrialHistory& history, const Report& report) {
  int completed = 0;
  size_t reported = 0;
  std::vector<double> peers;  // completed trials' values at report.step, NaN dropped
  for (const FrozenTrial& t : history.trials()) {
    if (t.state != TrialState::kComplete || t.number == report.trial) continue;
    ++completed;
    const auto it = t.intermediate_values.find(report.step);
    if (it == t.intermediate_values.end()) continue;
    ++reported;
    if (!std::isnan(it->second)) peers.push_back(it->second);
  }
  if (completed == 0 || completed < options_.n_startup_trials) return Decision::kContinue;
  if (report.step < options_.n_warmup_steps) return Decision::kContinue;
  const FrozenTrial& trial = history.at(report.trial);
  if (!is_check_step(trial, report.step)) return Decision::kContinue;

  double best = std::nan("");
  for (const auto& [step, value] : trial.intermediate_values) {
    if (step > report.step || std::isnan(value)) continue;
    if (std::isnan(best) || is_better(direction_, value, best)) best = value;
  }
  if (std::isnan(best)) return Decision::kPrune;  // only NaN so far
  if (reported < static_cast<size_t>(options_.n_min_trials) || peers.empty()) {
    return Decision::kContinue;
  }
  return is_better(direction_, median(peers), best) ? Decision::kPrune : Decision::kContinue;
}

}  // namespace pixelrec::hpo
