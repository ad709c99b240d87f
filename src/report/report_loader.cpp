// load_report_inputs: finds the inputs of each folder and reads them, recording every file.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <system_error>

#include "core/errors.h"
#include "report/report.h"

namespace pixelrec::report {

namespace fs = std::filesystem;

namespace {

// Runs `read` on `path` when it exists; records the outcome. Errors become recorded skips.
template <typename Read>
auto read_input(const fs::path& path, std::vector<InputRecord>& records, Read read)
    -> std::optional<decltype(read(path))> {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    records.push_back({path, InputStatus::kAbsent, ""});
    return std::nullopt;
  }
  try {
    auto value = read(path);
    records.push_back({path, InputStatus::kRead, ""});
    return value;
  } catch (const Error& e) {
    spdlog::warn("report: skipping {}: {}", path.string(), e.what());
    records.push_back({path, InputStatus::kSkipped, e.what()});
    return std::nullopt;
  }
}

std::string folder_name(const fs::path& dir) {
  fs::path clean = dir.lexically_normal();
  if (clean.filename().empty()) clean = clean.parent_path();
  std::error_code ec;
  const fs::path absolute = fs::absolute(clean, ec);
  const std::string name = (ec ? clean : absolute).filename().string();
  return name.empty() ? dir.string() : name;
}

RunFolder load_run(const fs::path& dir, std::vector<InputRecord>& records) {
  RunFolder run;
  run.dir = dir;
  run.name = folder_name(dir);
  run.config = read_input(dir / "config.yaml", records, read_config_summary);
  run.history = read_input(dir / "metrics.jsonl", records, read_metrics_jsonl);
  if (run.history && !run.history->note.empty()) records.back().detail = run.history->note;
  const fs::path eval_dir = dir / "eval";
  std::error_code ec;
  if (!fs::is_directory(eval_dir, ec)) {
    records.push_back({eval_dir, InputStatus::kAbsent, ""});
    return run;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(eval_dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) records.push_back({eval_dir / "*.json", InputStatus::kAbsent, ""});
  for (const fs::path& file : files) {
    if (auto result = read_input(file, records, read_eval_result)) {
      result->run = run.name;
      run.results.push_back(std::move(*result));
    }
  }
  return run;
}

StudyFolder load_study(const fs::path& dir, std::vector<InputRecord>& records) {
  StudyFolder study;
  study.dir = dir;
  study.name = folder_name(dir);
  study.trials = read_input(dir / "trials.csv", records, read_trials_csv);
  study.best = read_input(dir / "best_params.json", records, read_best_params);
  return study;
}

}  // namespace

FolderKind folder_kind(const fs::path& dir) {
  std::error_code ec;
  FolderKind kind;
  if (!fs::is_directory(dir, ec)) return kind;
  kind.study = fs::exists(dir / "trials.csv", ec);
  kind.run = fs::exists(dir / "config.yaml", ec) || fs::exists(dir / "metrics.jsonl", ec) ||
             fs::is_directory(dir / "eval", ec);
  return kind;
}

ReportInputs load_report_inputs(const std::vector<fs::path>& dirs) {
  if (dirs.empty()) throw UsageError("report: give at least one run or study folder");
  ReportInputs inputs;
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      throw UsageError("report: '" + dir.string() +
                       "' is not a directory; give a run folder (<results_dir>/<run>) or a study "
                       "folder (the --output-dir of `pixelrec hpo run`)");
    }
    const FolderKind kind = folder_kind(dir);
    if (!kind.study && !kind.run) {
      throw UsageError("report: '" + dir.string() +
                       "' holds neither config.yaml, metrics.jsonl nor eval/ (a run folder) nor "
                       "trials.csv (a study folder); give the folder `pixelrec train` or "
                       "`pixelrec hpo run` wrote");
    }
    if (kind.run) inputs.runs.push_back(load_run(dir, inputs.records));
    if (kind.study) inputs.studies.push_back(load_study(dir, inputs.records));
  }
  return inputs;
}

}  // namespace pixelrec::report
