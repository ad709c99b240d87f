// The subcommands that need LibTorch, built into `pixelrec-torch` (which `pixelrec` execs for
// them): train, evaluate, recommend, checkpoints inspect, hpo worker.
#pragma once

#include <CLI/CLI.hpp>

namespace pixelrec::app {

void register_train(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_recommend(CLI::App& app);
void register_checkpoints_inspect(CLI::App& app);
void register_hpo_worker(CLI::App& app);

// Set by a subcommand that must end with a specific status (e.g. 128 + signal after SIGTERM).
void set_exit_status(int status);
int exit_status();

}  // namespace pixelrec::app
