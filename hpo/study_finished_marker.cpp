#include "hpo/study_finished_marker.h"

#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "core/errors.h"
#include "core/files.h"

namespace pixelrec::hpo {

namespace {

std::filesystem::path marker_path(const std::filesystem::path& study_dir) {
  return study_dir / "study_finished.json";
}

}  // namespace

StudyAlreadyFinished::StudyAlreadyFinished(FinishedStudy finished)
    : Error("study '" + finished.study + "' finished (" + std::to_string(finished.trials) +
            " trials, n_trials " + std::to_string(finished.n_trials) + ") at " +
            finished.finished_at + "; its coordinator has gone"),
      finished_(std::move(finished)) {}

void write_finished_marker(const std::filesystem::path& study_dir, const FinishedStudy& finished) {
  const nlohmann::json j = {{"study", finished.study},
                            {"n_trials", finished.n_trials},
                            {"trials", finished.trials},
                            {"finished_at", finished.finished_at}};
  write_file_atomic(marker_path(study_dir), j.dump(2) + "\n");
}

std::optional<FinishedStudy> read_finished_marker(const std::filesystem::path& study_dir) {
  const std::filesystem::path path = marker_path(study_dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  const auto j = nlohmann::json::parse(read_file(path, "finished-study marker"), nullptr, false);
  const auto has = [&j](const char* key, auto check) { return j.contains(key) && check(j[key]); };
  if (j.is_discarded() || !j.is_object() ||
      !has("study", [](const nlohmann::json& v) { return v.is_string(); }) ||
      !has("n_trials", [](const nlohmann::json& v) { return v.is_number_integer(); }) ||
      !has("trials", [](const nlohmann::json& v) { return v.is_number_integer(); })) {
    throw Error(
        path.string() +
        ": not a finished-study marker ({\"study\", \"n_trials\", \"trials\", "
        "\"finished_at\"}); delete it, or start the study's coordinator, which replaces it");
  }
  return FinishedStudy{j["study"].get<std::string>(), j["n_trials"].get<int64_t>(),
                       j["trials"].get<int64_t>(), j.value("finished_at", std::string())};
}

void remove_finished_marker(const std::filesystem::path& study_dir) {
  std::error_code ec;
  std::filesystem::remove(marker_path(study_dir), ec);
  if (ec)
    throw Error("cannot remove " + marker_path(study_dir).string() + ": " + ec.message() +
                "; workers starting now would take the study for finished");
}

}  // namespace pixelrec::hpo
