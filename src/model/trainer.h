// `pixelrec train` (SPEC §7): builds the model from the config, the split and the feature store,
// trains with per-epoch negatives, validates every epoch, schedules the learning rate, stops
// early, writes the run folder (config.yaml, train.log, metrics.jsonl/csv, tb/) and the
// checkpoints last/best, and resumes exactly from either. Rank-aware through dist::Communicator.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"

namespace pixelrec::model {

struct TrainOptions {
  std::string run_name;        // empty: run-YYYYmmdd-HHMMSS
  std::string resume;          // "", "last", "best" or a checkpoint path
  std::string device = "cpu";  // cpu | cuda (rank r of a node uses GPU local_rank % GPUs)
  int local_rank = 0;          // rank on this node (LaunchEnv::local_rank)
  bool progress = true;
  bool overwrite = false;  // a fresh run may replace an existing run folder of the same name
  // Called on rank 0 after every epoch's validation with that epoch (0-based) and its metrics;
  // returning true stops training after this epoch on every rank (a pruned search trial). The
  // decision is broadcast, so all ranks stop at the same epoch.
  std::function<bool(int epoch, const std::vector<std::pair<std::string, double>>& metrics)>
      on_epoch_end;
};

struct TrainResult {
  std::filesystem::path run_dir, checkpoint_dir;
  int epochs_completed = 0;
  int best_epoch = -1;
  std::string monitored_metric;
  double best_value = 0;
  bool early_stopped = false;
  bool stopped_by_callback = false;  // on_epoch_end asked to stop
  int interrupted_by = 0;  // signal number when SIGINT/SIGTERM ended training (checkpoint saved)
  std::vector<std::pair<std::string, double>> last_metrics;
  std::string parameter_digest;  // of the final model (equal digests: bitwise-equal models)
};

TrainResult train(const Config& config, const TrainOptions& options, dist::Communicator& comm);

// Threads for LibTorch and OpenBLAS: training.num_workers, or the cores shared among the ranks
// of this node when it is 0.
int training_threads(const Config& config, int local_world_size);
void set_compute_threads(int threads);

// <checkpoint_dir>/<run>/{last,best}.pt for --resume last|best, else the path itself.
std::filesystem::path resolve_checkpoint(const Config& config, const std::string& run_name,
                                         const std::string& which);

}  // namespace pixelrec::model
