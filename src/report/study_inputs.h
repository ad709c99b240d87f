// What a study folder (`pixelrec hpo run --output-dir`) holds for the report: trials.csv (one row
// per trial) and best_params.json (the winner and the direction). Readers throw pixelrec::Error
// naming the file and line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pixelrec::report {

struct StudyTrial {
  int64_t number = 0;
  std::string state;                // WAITING, RUNNING, COMPLETE, PRUNED, FAILED, STALE
  std::optional<double> value;      // COMPLETE trials only
  std::vector<std::string> params;  // aligned with StudyTrials::param_names; "" = inactive
  std::string duration_s, message;
};

struct StudyTrials {
  std::vector<std::string> param_names;  // the params_<name> columns, without the prefix
  std::vector<StudyTrial> trials;        // file order
};

// Throws Error for a missing number/state/value column, a malformed row, a non-integer number,
// a non-numeric value or an unknown state, naming the file and line.
StudyTrials read_trials_csv(const std::filesystem::path& path);

struct BestParams {
  std::string study, direction;  // direction: minimize | maximize
  int64_t trial = 0;
  double value = 0;
};

// Throws Error for invalid JSON or a missing/invalid "direction".
BestParams read_best_params(const std::filesystem::path& path);

}  // namespace pixelrec::report
