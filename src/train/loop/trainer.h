// `pixelrec train` (SPEC §7): builds the model from the config, the split and the feature store,
// trains with per-epoch negatives, validates every epoch, schedules the learning rate, stops
// early, writes the run folder (config.yaml, train.log, metrics.jsonl/csv, tb/) and the
// checkpoints last/best, and resumes exactly from either. Rank-aware through dist::Communicator.
// The steps are those of TrainingRun (train/loop/training_run.h).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "distributed/communicator.h"
#include "train/metrics_log.h"

namespace pixelrec::train {

// What the caller of a running training asks before an optimizer step (TrainOptions::stop_request).
enum class StopRequest {
  kNone,
  kCheckpoint,  // save `last` at this step, as a signal does, and stop
  kAbandon,     // stop at once and write nothing more: another process owns the run now
};

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
  // Called on rank 0 when a run resumes, before it trains on, with the epochs its checkpoint had
  // completed as metrics.jsonl recorded them (cut back to the checkpoint): a resumed search trial
  // reports them. Returning true stops training there on every rank (as on_epoch_end).
  std::function<bool(const std::vector<EpochMetrics>& recorded)> on_resume;
  // Polled on rank 0 before every optimizer step and before an epoch's outputs are written; the
  // ranks agree on the answer, so all stop at the same step (TrainResult::stopped_by_request,
  // abandoned).
  std::function<StopRequest()> stop_request;
  // Called on rank 0 after every optimizer step and every epoch's validation (a search worker's
  // heartbeat tells the coordinator that training still moves).
  std::function<void(int64_t global_step)> on_progress;
};

struct TrainResult {
  std::filesystem::path run_dir, checkpoint_dir;
  int epochs_completed = 0;
  int best_epoch = -1;
  std::string monitored_metric;
  double best_value = 0;
  bool early_stopped = false;
  bool stopped_by_callback = false;  // on_epoch_end or on_resume asked to stop
  bool stopped_by_request = false;   // stop_request kCheckpoint: `last` saved where it stopped
  bool abandoned = false;            // stop_request kAbandon: nothing written after the request
  int interrupted_by = 0;  // signal number when SIGINT/SIGTERM ended training (checkpoint saved)
  std::vector<std::pair<std::string, double>> last_metrics;
  std::string parameter_digest;  // of the final model (equal digests: bitwise-equal models)
};

TrainResult train(const Config& config, const TrainOptions& options, dist::Communicator& comm);

// <checkpoint_dir>/<run>/{last,best}.pt for --resume last|best, else the path itself.
std::filesystem::path resolve_checkpoint(const Config& config, const std::string& run_name,
                                         const std::string& which);

}  // namespace pixelrec::train
