// `pixelrec report`: one self-contained HTML page (inline CSS, inline chart library, no external
// resource) about run folders and study folders. Loading records every input as read, absent or
// skipped (with the reason); rendering shows each section only when its inputs exist.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/run_inputs.h"
#include "report/study_inputs.h"

namespace pixelrec::report {

enum class InputStatus { kRead, kAbsent, kSkipped };

// One input file (or folder) and what became of it; shown in the report's "Inputs" section.
struct InputRecord {
  std::filesystem::path path;
  InputStatus status = InputStatus::kRead;
  std::string detail;  // why it was skipped, or what was dropped while reading
};

struct RunFolder {
  std::filesystem::path dir;
  std::string name;  // the folder's name
  std::optional<ConfigSummary> config;
  std::optional<MetricsHistory> history;
  std::vector<EvalResultFile> results;  // eval/*.json, by file name
};

struct StudyFolder {
  std::filesystem::path dir;
  std::string name;
  std::optional<StudyTrials> trials;
  std::optional<BestParams> best;
};

struct ReportInputs {
  std::vector<RunFolder> runs;
  std::vector<StudyFolder> studies;
  std::vector<InputRecord> records;
};

// What a folder holds: a run folder has config.yaml, metrics.jsonl or eval/; a study folder has
// trials.csv. A folder may be both; a missing folder is neither.
struct FolderKind {
  bool run = false, study = false;
};
FolderKind folder_kind(const std::filesystem::path& dir);

// A folder is a run folder when it holds config.yaml, metrics.jsonl or eval/, a study folder
// when it holds trials.csv (it may be both). Throws UsageError for a folder that does not exist
// or is neither. A file that cannot be read or parsed is recorded as skipped, with the reader's
// message (file, line, fix), and the report goes on without it.
ReportInputs load_report_inputs(const std::vector<std::filesystem::path>& dirs);

struct RenderedReport {
  std::string html;
  int charts = 0;                     // <canvas> charts the page draws
  std::vector<std::string> sections;  // ids of the sections shown, in page order
};

// The page. `title` empty: "PixelRec-MM report: <folder names>".
RenderedReport render_report(const ReportInputs& inputs, const std::string& title);

struct ReportRequest {
  std::vector<std::filesystem::path> dirs;  // at least one
  std::filesystem::path output;             // empty: <first dir>/report.html
  std::string title;
};

struct ReportSummary {
  std::filesystem::path output;
  int charts = 0;
  std::vector<std::string> sections;
  size_t skipped_inputs = 0;
};

// Loads, renders and writes the page atomically.
ReportSummary write_report(const ReportRequest& request);

}  // namespace pixelrec::report
