// `pixelrec checkpoints list|organize|cleanup|archive`: the checkpoint catalogue over the JSON
// sidecars beside every checkpoint (src/checkpoints/, no LibTorch). `checkpoints inspect` loads
// the tensors and is executed by pixelrec-torch; it is declared here so --help shows it.
#include <iostream>
#include <limits>
#include <memory>

#include "app/cli_common.h"
#include "checkpoints/archive.h"
#include "checkpoints/catalogue.h"
#include "checkpoints/cleanup.h"
#include "checkpoints/listing.h"
#include "checkpoints/organize.h"
#include "core/errors.h"

namespace pixelrec::app {
namespace {

namespace ck = pixelrec::checkpoints;

struct ManagerOptions {
  CommonOptions common;
  std::string dir;  // empty: checkpoint_dir from the config
  std::string run;
  std::string format = "table";
  bool dry_run = false;
  int keep_recent = 0;
  std::string output;
  bool include_epochs = false;
  bool overwrite = false;
};

struct Resolved {
  std::filesystem::path checkpoint_dir;
  std::filesystem::path results_dir;
  int threads = 1;
};

Resolved resolve(const ManagerOptions& options) {
  const LoadedConfig loaded = load_config_from(options.common);
  return {options.dir.empty() ? loaded.config.checkpoint_dir : options.dir,
          loaded.config.results_dir, loaded.config.thread_count()};
}

CLI::App* add_action(CLI::App& parent, const std::string& name, const std::string& help,
                     ManagerOptions& options) {
  CLI::App* cmd = parent.add_subcommand(name, help);
  add_common_options(*cmd, options.common);
  cmd->add_option("--dir", options.dir, "Checkpoint folder (default: checkpoint_dir)")
      ->default_str("");
  return cmd;
}

}  // namespace

void register_checkpoints(CLI::App& app) {
  auto options = std::make_shared<ManagerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "checkpoints",
      "List, organize, clean up, archive and inspect checkpoints (docs/checkpoints.md)");
  cmd->require_subcommand(1);

  CLI::App* list =
      add_action(*cmd, "list", "One row per checkpoint with its status, and totals", *options);
  list->add_option("--run", options->run, "Only this run")->default_str("");
  list->add_option("--format", options->format, "table|json");
  list->callback([options] {
    const Resolved r = resolve(*options);
    const auto catalogue = ck::scan_catalogue(r.checkpoint_dir, r.threads);
    ck::print_listing(catalogue, options->run, ck::parse_list_format(options->format), std::cout);
  });

  CLI::App* organize = add_action(
      *cmd, "organize",
      "Move checkpoints into <dir>/<run>/ and rebuild by_model/ links and index.json", *options);
  organize->add_flag(flag_names("--dry-run"), options->dry_run,
                     "Print the actions, change nothing");
  organize->callback([options] {
    const Resolved r = resolve(*options);
    ck::organize_checkpoints(r.checkpoint_dir, {options->dry_run, r.threads}, std::cout);
  });

  CLI::App* cleanup = add_action(
      *cmd, "cleanup", "Keep best, last and the N most recent epoch checkpoints; delete the rest",
      *options);
  cleanup->add_option("--run", options->run, "Only this run (default: every run)")->default_str("");
  cleanup
      ->add_option(flag_names("--keep-recent"), options->keep_recent,
                   "Epoch checkpoints (epoch_*.pt) to keep besides best and last")
      ->check(CLI::Range(0, std::numeric_limits<int>::max()));
  cleanup->add_flag(flag_names("--dry-run"), options->dry_run,
                    "Print the removals, delete nothing");
  cleanup->callback([options] {
    const Resolved r = resolve(*options);
    ck::cleanup_checkpoints(r.checkpoint_dir,
                            {options->run, options->keep_recent, options->dry_run, r.threads},
                            std::cout);
  });

  CLI::App* archive = add_action(
      *cmd, "archive",
      "Write <run>.tar.gz: best, last, sidecars, the run's config and metrics, MANIFEST.json",
      *options);
  archive
      ->add_option("--run,--experiment-name,--experiment_name", options->run, "The run to archive")
      ->required();
  archive
      ->add_option(flag_names("--output", "-o"), options->output,
                   "Archive file (default: <run>.tar.gz in the working directory)")
      ->default_str("");
  archive->add_flag(flag_names("--include-epochs"), options->include_epochs,
                    "Also archive the epoch_*.pt checkpoints");
  archive->add_flag("--overwrite", options->overwrite, "Replace an existing archive file");
  archive->callback([options] {
    const Resolved r = resolve(*options);
    ck::ArchiveOptions request;
    request.run = options->run;
    request.output = options->output;
    request.results_dir = r.results_dir;
    request.include_epochs = options->include_epochs;
    request.overwrite = options->overwrite;
    request.threads = r.threads;
    ck::archive_run(r.checkpoint_dir, request, std::cout);
  });

  CLI::App* inspect = cmd->add_subcommand(
      "inspect",
      "Print what a checkpoint holds (run, epoch, shapes, fingerprints, parameter digest); "
      "--compare gives the largest tensor difference to another (runs in pixelrec-torch)");
  inspect->allow_extras();  // its flags are parsed by pixelrec-torch
  inspect->footer("Usage: pixelrec checkpoints inspect PATH [--compare OTHER]");
  inspect->callback([] {
    throw Error(
        "`checkpoints inspect` loads tensors and runs in pixelrec-torch, but this pixelrec did "
        "not hand it over: run `pixelrec-torch checkpoints inspect ...` (built beside pixelrec)");
  });
}

}  // namespace pixelrec::app
