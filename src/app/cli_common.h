// What every subcommand shares: --config (repeatable), --set, --strict, --log-level, and the
// registration functions of the subcommands. Subcommand files only parse flags and call a library.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "core/config_loader.h"

namespace pixelrec::app {

struct CommonOptions {
  std::vector<std::string> config_files;
  std::vector<std::string> overrides;
  bool strict = false;
  std::string log_level;  // empty: runtime.log_level from the config
};

// Adds --config/-c, --set, --strict and --log-level to `cmd`.
void add_common_options(CLI::App& cmd, CommonOptions& options);

// Loads the configuration named by the common options and applies the log level.
LoadedConfig load_config_from(const CommonOptions& options);

// Parses and runs the command line, mapping outcomes to the exit status contract: 0 success,
// 1 failure (one-line cause on stderr), 2 usage error (help/version exit 0).
int run_command_line(CLI::App& app, int argc, char** argv);

// "--force-reprocess" → "--force-reprocess,--force_reprocess": both spellings are accepted.
std::string flag_names(const std::string& dashed, const std::string& short_name = "");

void register_config(CLI::App& app);
void register_synth(CLI::App& app);
void register_preprocess(CLI::App& app);
void register_split(CLI::App& app);
void register_cache(CLI::App& app);
void register_hpo(CLI::App& app);
void register_demo(CLI::App& app);
void register_report(CLI::App& app);
void register_checkpoints(CLI::App& app);  // list, organize, cleanup, archive (inspect: torch)
// Makes `pixelrec hpo` without a subcommand run a local study (coordinator + worker groups).
void add_local_study(CLI::App& hpo);

}  // namespace pixelrec::app
