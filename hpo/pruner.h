// The pruner interface: after a trial reports an intermediate value (validation metric at an
// epoch), decide whether it continues or stops early. Implementations: AshaPruner (asynchronous
// successive halving) and MedianPruner (median stopping).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hpo/trial.h"

namespace pixelrec::hpo {

enum class Decision { kContinue, kPrune };

inline std::string_view to_string(Decision decision) {
  return decision == Decision::kContinue ? "continue" : "prune";
}

// One intermediate report: `trial` reached `step` (an epoch, the resource) with `value`.
struct Report {
  int64_t trial = 0;
  int64_t step = 0;
  double value = 0.0;
};

// Throws ConfigError "<pruner>: <problem>" unless `ok`: how pruners reject their options.
void require_pruner_option(bool ok, std::string_view pruner, const std::string& problem);

class Pruner {
 public:
  virtual ~Pruner() = default;
  // Decides on `report`; `history` already holds it among the trial's intermediate values.
  virtual Decision decide(const TrialHistory& history, const Report& report) = 0;
};

}  // namespace pixelrec::hpo
