// ASHA, asynchronous successive halving (Li et al. 2020), as Optuna's SuccessiveHalvingPruner with
// an explicit maximum resource: rungs at min_resource * eta^(k + s) epochs up to max_resource; a
// trial reaching a rung continues only if its value there is in the top 1/eta of the values
// recorded at that rung so far. Decisions depend only on the reports, in arrival order.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "hpo/pruner.h"

namespace pixelrec::hpo {

struct AshaOptions {
  int64_t min_resource = 1;             // epochs at the first rung when s = 0
  int64_t max_resource = 0;             // epochs of a full trial; required (>= min_resource)
  int64_t reduction_factor = 3;         // eta
  int64_t min_early_stopping_rate = 0;  // s: rungs start at min_resource * eta^s
};

class AshaPruner final : public Pruner {
 public:
  // Throws ConfigError naming the option when the options leave no rung or make no sense.
  AshaPruner(const AshaOptions& options, Direction direction);

  // Ignores `history`: ASHA's state is the sequence of reports it has seen.
  Decision decide(const TrialHistory& history, const Report& report) override {
    return record(report);
  }

  // Records `report` at every rung its step reaches that the trial has not passed yet, stopping at
  // the first rung where it is not promoted. A NaN at a rung prunes; a trial once pruned stays
  // pruned (later reports are answered kPrune and not recorded).
  Decision record(const Report& report);

  // Forgets everything and replays `reports` in arrival order (as stored), returning the decision
  // for each; the pruner ends in the state the original sequence left it in.
  std::vector<Decision> rebuild(const std::vector<Report>& reports);

  // Rung resources in epochs, lowest first (1, 3, 9 for min 1, eta 3, max 9).
  const std::vector<int64_t>& rungs() const { return rungs_; }
  // The values recorded at rung `rung`, ascending.
  const std::vector<double>& rung_values(size_t rung) const { return rung_values_.at(rung); }

 private:
  struct Progress {
    size_t next_rung = 0;  // the first rung this trial has not reached yet
    bool pruned = false;
  };

  bool record_and_promote(size_t rung, double value);

  AshaOptions options_;
  Direction direction_;
  std::vector<int64_t> rungs_;
  std::vector<std::vector<double>> rung_values_;
  std::map<int64_t, Progress> progress_;  // by trial number
};

}  // namespace pixelrec::hpo
