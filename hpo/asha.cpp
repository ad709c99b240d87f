#include "hpo/asha.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"

namespace pixelrec::hpo {

AshaPruner::AshaPruner(const AshaOptions& options, Direction direction)
    : options_(options), direction_(direction) {
  require_pruner_option(
      options.min_resource >= 1, "ASHA pruner",
      "min_resource must be >= 1 epoch (got " + std::to_string(options.min_resource) + ")");
  require_pruner_option(options.max_resource >= options.min_resource, "ASHA pruner",
                        "max_resource (" + std::to_string(options.max_resource) +
                            ") must be >= min_resource (" + std::to_string(options.min_resource) +
                            "); set it to the number of training epochs");
  require_pruner_option(options.reduction_factor >= 2, "ASHA pruner",
                        "reduction_factor must be >= 2 (got " +
                            std::to_string(options.reduction_factor) + "); 3 is the usual choice");
  require_pruner_option(options.min_early_stopping_rate >= 0, "ASHA pruner",
                        "min_early_stopping_rate must be >= 0 (got " +
                            std::to_string(options.min_early_stopping_rate) + ")");
  // r_k = min_resource * eta^(k + s) while r_k < max_resource, without overflowing. As in the
  // ASHA paper, no rung sits at max_resource: a trial that got there has finished (COMPLETE).
  const int64_t eta = options.reduction_factor, max = options.max_resource;
  int64_t resource = options.min_resource;
  bool fits = true;
  for (int64_t i = 0; i < options.min_early_stopping_rate && fits; ++i) {
    fits = resource <= max / eta;
    resource *= fits ? eta : 1;
  }
  while (fits && resource < max) {
    rungs_.push_back(resource);
    if (resource > max / eta) break;
    resource *= eta;
  }
  require_pruner_option(
      !rungs_.empty(), "ASHA pruner",
      "no rung fits: min_resource * reduction_factor^min_early_stopping_rate "
      "is not below max_resource (" +
          std::to_string(options.max_resource) +
          "); lower min_early_stopping_rate or min_resource, or raise max_resource");
  rung_values_.resize(rungs_.size());
}

Decision AshaPruner::record(const Report& report) {
  Progress& progress = progress_[report.trial];
  if (progress.pruned) return Decision::kPrune;
  while (progress.next_rung < rungs_.size() && report.step >= rungs_[progress.next_rung]) {
    if (std::isnan(report.value) || !record_and_promote(progress.next_rung, report.value)) {
      progress.pruned = true;
      return Decision::kPrune;
    }
    ++progress.next_rung;
  }
  return Decision::kContinue;
}

// Optuna's _is_trial_promotable_to_next_rung: with n values at the rung (this one included), the
// trial is promoted when its value is at least as good as the k-th best, k = max(1, floor(n/eta)).
// So the first eta - 1 arrivals continue only if each is the best so far; ties are promoted.
bool AshaPruner::record_and_promote(size_t rung, double value) {
  std::vector<double>& values = rung_values_[rung];
  values.insert(std::upper_bound(values.begin(), values.end(), value), value);
  const size_t n = values.size();
  const size_t k = std::max<size_t>(1, n / static_cast<size_t>(options_.reduction_factor));
  return direction_ == Direction::kMinimize ? value <= values[k - 1] : value >= values[n - k];
}

std::vector<Decision> AshaPruner::rebuild(const std::vector<Report>& reports) {
  progress_.clear();
  for (auto& values : rung_values_) values.clear();
  std::vector<Decision> decisions;
  decisions.reserve(reports.size());
  for (const Report& report : reports) decisions.push_back(record(report));
  return decisions;
}

}  // namespace pixelrec::hpo
