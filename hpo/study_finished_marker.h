// <study_dir>/study_finished.json: what a finished study leaves for worker groups that start after
// its coordinator has gone (a job array task queued behind the others), so that they end at once
// with "nothing to do" instead of waiting for a coordinator.json that will not come back. Written
// before coordinator.json is removed; removed by the next coordinator of the study when it starts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/errors.h"

namespace pixelrec::hpo {

struct FinishedStudy {
  std::string study;
  int64_t n_trials = 0;  // hyperparameter_search.n_trials the coordinator ran to
  int64_t trials = 0;    // trials in the study when it finished
  std::string finished_at;
};

// Thrown where a worker looks for its coordinator and finds the study finished instead; the
// client's connection retries let it through, and the worker ends with nothing to do.
class StudyAlreadyFinished : public Error {
 public:
  explicit StudyAlreadyFinished(FinishedStudy finished);
  const FinishedStudy& finished() const { return finished_; }

 private:
  FinishedStudy finished_;
};

void write_finished_marker(const std::filesystem::path& study_dir, const FinishedStudy& finished);

// The marker; none when it is absent. Throws Error naming the file when it is not one.
std::optional<FinishedStudy> read_finished_marker(const std::filesystem::path& study_dir);

void remove_finished_marker(const std::filesystem::path& study_dir);

}  // namespace pixelrec::hpo
