// `pixelrec preprocess`: validate, clean and filter the raw data (SPEC §3; docs/data.md).
#include <memory>

#include "app/cli_common.h"
#include "data/preprocess.h"

namespace pixelrec::app {

void register_preprocess(CLI::App& app) {
  struct Options {
    CommonOptions common;
    bool force_reprocess = false;
    bool no_progress = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "preprocess",
      "Validate, clean and filter the raw data into data.processed_* (rejects.csv, repairs.csv "
      "and preprocess_report.json beside the processed interactions)");
  add_common_options(*cmd, options->common);
  cmd->add_flag(flag_names("--force-reprocess"), options->force_reprocess,
                "Redo everything even when the inputs and config are unchanged");
  cmd->add_flag(flag_names("--no-progress"), options->no_progress,
                "Do not draw the image progress bar");
  cmd->callback([options] {
    const LoadedConfig loaded = load_config_from(options->common);
    PreprocessOptions run_options;
    run_options.force_reprocess = options->force_reprocess;
    run_options.show_progress = !options->no_progress;
    run_preprocess(loaded.config, run_options);
  });
}

}  // namespace pixelrec::app
