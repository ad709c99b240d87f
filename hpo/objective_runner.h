// Runs one black-box objective: `sh -c CMD` in its own process group with the trial's parameters
// as PIXELREC_PARAM_<NAME> variables and as one JSON object on stdin. Lines `report <step>
// <value>` are intermediate values; when the pruner says prune, the whole process group is
// terminated (SIGTERM, then SIGKILL after a grace period). The last stdout line that is a number
// is the objective value.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "hpo/param_value.h"
#include "hpo/pruner.h"

namespace pixelrec::hpo {

// "training.learning_rate" → "PIXELREC_PARAM_TRAINING_LEARNING_RATE": upper-cased, every
// character other than a letter or digit becomes '_'.
std::string param_env_name(const std::string& param);

struct ObjectiveOptions {
  double kill_grace_seconds = 5.0;  // SIGTERM → SIGKILL delay when a trial is stopped
  size_t stderr_tail_bytes = 2000;  // how much of stderr a failure reason quotes
};

enum class ObjectiveStatus { kComplete, kPruned, kFailed };

struct ObjectiveResult {
  ObjectiveStatus status = ObjectiveStatus::kFailed;
  std::optional<double> value;  // kComplete: the objective value (finite)
  std::string message;          // kPruned / kFailed: what happened, with the stderr tail
  int64_t reports = 0;          // intermediate report lines received
  double seconds = 0.0;         // wall time from start to the process's exit
};

// Called for each `report <step> <value>` line, in order; kPrune stops the objective.
using ReportHandler = std::function<Decision(int64_t step, double value)>;

// Runs `command` for one trial and waits for it (and its process group) to end. Never throws for
// the objective's own failures (non-zero exit, signal, no number, NaN or infinite value, malformed
// report line): those are kFailed with the reason. Throws Error only when the process cannot be
// started. Safe to call from several threads at once.
ObjectiveResult run_objective(const std::string& command, const ParamMap& params,
                              const ReportHandler& on_report, const ObjectiveOptions& options = {});

}  // namespace pixelrec::hpo
