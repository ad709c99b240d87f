// Trial records and the in-memory history of a study: what samplers and pruners read. The
// coordinator's SQLite storage rebuilds a TrialHistory from its tables; nothing here does I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "hpo/space.h"

namespace pixelrec::hpo {

enum class TrialState { kWaiting, kRunning, kComplete, kPruned, kFailed, kStale };

inline std::string_view to_string(TrialState state) {
  switch (state) {
    case TrialState::kWaiting:
      return "WAITING";
    case TrialState::kRunning:
      return "RUNNING";
    case TrialState::kComplete:
      return "COMPLETE";
    case TrialState::kPruned:
      return "PRUNED";
    case TrialState::kFailed:
      return "FAILED";
    case TrialState::kStale:
      return "STALE";
  }
  return "?";
}

inline std::optional<TrialState> parse_trial_state(std::string_view text) {
  for (TrialState s : {TrialState::kWaiting, TrialState::kRunning, TrialState::kComplete,
                       TrialState::kPruned, TrialState::kFailed, TrialState::kStale}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

// A snapshot of one trial (Optuna's FrozenTrial).
struct FrozenTrial {
  int64_t number = 0;
  TrialState state = TrialState::kWaiting;
  ParamMap params;
  std::optional<double> value;                    // the final objective, once COMPLETE
  std::map<int64_t, double> intermediate_values;  // step (epoch) → reported value
};

// The trials of one study, numbered 0, 1, 2, ... in creation order.
class TrialHistory {
 public:
  // Appends a trial numbered size(); returns it for the caller to fill in.
  FrozenTrial& add(ParamMap params, TrialState state = TrialState::kRunning) {
    FrozenTrial trial;
    trial.number = static_cast<int64_t>(trials_.size());
    trial.state = state;
    trial.params = std::move(params);
    trials_.push_back(std::move(trial));
    return trials_.back();
  }

  // Appends a trial read back from storage; its number must be size().
  void restore(FrozenTrial trial) {
    PIXELREC_CHECK(trial.number == static_cast<int64_t>(trials_.size()),
                   "trials must be restored in number order");
    trials_.push_back(std::move(trial));
  }

  const std::vector<FrozenTrial>& trials() const { return trials_; }
  size_t size() const { return trials_.size(); }

  FrozenTrial& at(int64_t number) { return trials_[checked_index(number)]; }
  const FrozenTrial& at(int64_t number) const { return trials_[checked_index(number)]; }

 private:
  size_t checked_index(int64_t number) const {
    PIXELREC_CHECK(number >= 0 && number < static_cast<int64_t>(trials_.size()),
                   "no trial " + std::to_string(number));
    return static_cast<size_t>(number);
  }

  std::vector<FrozenTrial> trials_;
};

}  // namespace pixelrec::hpo
