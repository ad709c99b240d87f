// Median stopping, as Optuna's MedianPruner: stop a trial whose best value so far is worse than
// the median of the values the completed trials reported at the same step.
#pragma once

#include <cstdint>

#include "hpo/pruner.h"

namespace pixelrec::hpo {

struct MedianOptions {
  int n_startup_trials = 5;    // no pruning until this many trials are COMPLETE
  int64_t n_warmup_steps = 0;  // no pruning before this step
  int64_t interval_steps = 1;  // check at most once per interval after the warm-up
  int n_min_trials = 1;        // completed trials that must have reported at the step
};

class MedianPruner final : public Pruner {
 public:
  // Throws ConfigError naming the option for negative counts or a zero interval.
  MedianPruner(const MedianOptions& options, Direction direction);

  // A pure function of `history`: the reporting trial's values at steps <= report.step, and the
  // completed trials' values at report.step.
  Decision decide(const TrialHistory& history, const Report& report) override;

 private:
  bool is_check_step(const FrozenTrial& trial, int64_t step) const;

  MedianOptions options_;
  Direction direction_;
};

}  // namespace pixelrec::hpo
