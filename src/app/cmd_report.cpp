// `pixelrec report DIR [DIR...] [--output FILE] [--title T]`: one self-contained HTML page about
// run folders and study folders (docs/report.md).
#include <filesystem>
#include <iostream>
#include <memory>

#include "app/cli_common.h"
#include "report/report.h"

namespace pixelrec::app {

namespace {

// DIR itself when it is a run or study folder, else <results_dir>/DIR when that is one (so a run
// name works with the configuration that trained it); otherwise DIR, which the report rejects
// with the reason.
std::filesystem::path resolve_folder(const std::string& dir, const Config& config) {
  const auto is_folder = [](const std::filesystem::path& p) {
    const report::FolderKind kind = report::folder_kind(p);
    return kind.run || kind.study;
  };
  if (is_folder(dir)) return dir;
  const std::filesystem::path in_results = std::filesystem::path(config.results_dir) / dir;
  return is_folder(in_results) ? in_results : std::filesystem::path(dir);
}

}  // namespace

void register_report(CLI::App& app) {
  struct Options {
    CommonOptions common;
    std::vector<std::string> dirs;
    std::string output, title;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write one self-contained HTML report of run folders and/or study folders");
  add_common_options(*cmd, options->common);
  cmd->add_option("dirs", options->dirs,
                  "Run folders (<results_dir>/<run>, or a run name under results_dir) and study "
                  "folders (holding trials.csv)")
      ->required();
  cmd->add_option(flag_names("--output", "-o"), options->output,
                  "The HTML file to write (default: <first DIR>/report.html)");
  cmd->add_option(flag_names("--title"), options->title,
                  "Page title (default: 'PixelRec-MM report: <folder names>')");
  cmd->callback([options] {
    const LoadedConfig loaded = load_config_from(options->common);
    report::ReportRequest request;
    for (const std::string& dir : options->dirs) {
      request.dirs.push_back(resolve_folder(dir, loaded.config));
    }
    request.output = options->output;
    request.title = options->title;
    const report::ReportSummary summary = report::write_report(request);
    std::cout << "report: " << summary.output.string() << " (" << summary.sections.size()
              << " sections, " << summary.charts << " charts";
    if (summary.skipped_inputs > 0) {
      std::cout << "; " << summary.skipped_inputs
                << " input file(s) skipped, see its Inputs section";
    }
    std::cout << ")\n";
  });
}

}  // namespace pixelrec::app
