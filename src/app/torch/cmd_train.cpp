// `pixelrec train`: one process, or under mpirun/srun/torchrun; writes the run folder and
// checkpoints.
#include <unistd.h>

#include "app/cli_common.h"
#include "app/torch/torch_commands.h"
#include "core/logging.h"
#include "distributed/communicator.h"
#include "distributed/torch/c10d_communicator.h"
#include "train/loop/trainer.h"

namespace pixelrec::app {

void register_train(CLI::App& app) {
  struct Options {
    CommonOptions common;
    train::TrainOptions train;
    bool no_progress = false;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "train",
      "Train the multimodal recommender on the split and feature store of the config. Writes "
      "<results_dir>/<run>/ (config.yaml, train.log, metrics.jsonl, metrics.csv, tb/) and "
      "<checkpoint_dir>/<run>/{last,best}.pt. SIGINT/SIGTERM save `last` and exit 128+signal");
  add_common_options(*cmd, options->common);
  cmd->add_option(flag_names("--run-name"), options->train.run_name,
                  "Run name (default: run-YYYYmmdd-HHMMSS)");
  cmd->add_option("--resume", options->train.resume,
                  "Continue a run exactly: last | best (with --run-name) or a checkpoint path");
  cmd->add_option("--device", options->train.device, "cpu | cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_flag(flag_names("--no-progress"), options->no_progress, "No progress bar");
  cmd->add_flag("--overwrite", options->train.overwrite,
                "Start the run again when --run-name already exists (deletes its folder and "
                "checkpoints)");
  cmd->callback([options] {
    const dist::LaunchEnv env = dist::detect_launch_env(dist::process_environment());
    if (env.distributed()) init_logging("info", env.rank, env.world_size);
    const LoadedConfig loaded = load_config_from(options->common);
    // distributed.backend and the launch pick single / mpi / gloo / nccl (c10d_communicator.h).
    auto comm = dist::make_training_communicator(loaded.config, env, options->train.device);
    comm->set_timeout(std::chrono::seconds(loaded.config.distributed.timeout_seconds));
    if (comm->rank() != 0) spdlog::set_level(spdlog::level::warn);
    if (comm->size() > 1) spdlog::info("{} ranks, communicator {}", comm->size(), comm->backend());
    options->train.progress = !options->no_progress && isatty(STDERR_FILENO);
    options->train.local_rank = env.local_rank;
    const train::TrainResult r = train::train(loaded.config, options->train, *comm);
    if (r.interrupted_by) {
      set_exit_status(128 + r.interrupted_by);
      return;
    }
    if (comm->is_root())
      spdlog::info(
          "training done: {} epoch(s){}, best {} = {:.4f} at epoch {}; run folder {}, "
          "checkpoints {}; parameters digest {}",
          r.epochs_completed, r.early_stopped ? " (early stop)" : "", r.monitored_metric,
          r.best_value, r.best_epoch + 1, r.run_dir.string(), r.checkpoint_dir.string(),
          r.parameter_digest);
  });
}

}  // namespace pixelrec::app
