// One training run, step by step: set-up (constructor), then per epoch train_epoch, validate,
// save_epoch and stop_after; run() is the loop train() calls. Each step is collective: every
// rank calls the same steps in the same order.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "data/negative_sampler.h"
#include "distributed/communicator.h"
#include "distributed/torch/tensor_collectives.h"
#include "model/batch_loss.h"
#include "model/checkpoint.h"
#include "model/checkpoint_sidecar.h"
#include "model/gradient_sync.h"
#include "model/optimizers.h"
#include "model/recommender.h"
#include "model/training_batches.h"
#include "model/validation.h"
#include "train/early_stopping.h"
#include "train/loop/trainer.h"
#include "train/loop/training_data.h"
#include "train/lr_schedule.h"
#include "train/metrics_log.h"
#include "train/tensorboard.h"

namespace pixelrec::train {

using Metrics = std::vector<std::pair<std::string, double>>;

// How an epoch's batches ended: all trained, or a signal or stop request ended the run inside
// the epoch (`last` was saved there, or nothing when the caller abandoned the run).
enum class EpochEnd { kCompleted, kInterrupted };

// An epoch's training totals over all ranks.
struct EpochTotals {
  std::chrono::steady_clock::time_point start;
  double loss_sum = 0, loss_count = 0, contrastive_sum = 0;
  double examples = 0;  // trained in this process's run (a resumed epoch's earlier part excluded)
  double train_seconds = 0, lr = 0;
};

// What validate() found: the epoch's metrics and whether the monitored one improved.
struct EpochMetricsResult {
  Metrics metrics;
  bool improved = false;
};

class TrainingRun {
 public:
  // Set-up: the data, the model (fresh, or from options.resume), the optimizer, sampler,
  // validator, schedules, the run folder (rank 0) and this rank's item shard.
  TrainingRun(const Config& requested, const TrainOptions& options, dist::Communicator& comm);
  ~TrainingRun();
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  // Every epoch from the checkpoint's until training.epochs or a stop; the whole of train().
  TrainResult run();

  // The steps of one epoch, in run()'s order.
  EpochEnd train_epoch(int epoch, EpochTotals& totals);
  EpochMetricsResult validate(int epoch, const EpochTotals& totals);
  // The caller's stop request after validation, agreed by all ranks.
  StopRequest agreed_stop_request();
  // metrics.jsonl, TensorBoard, and the checkpoints last (always), best (when improved) and
  // epoch_N (every training.checkpoint_every_epochs).
  void save_epoch(int epoch, const EpochTotals& totals, const EpochMetricsResult& m);
  // True when training ends after `epoch`: `requested` (the caller's kCheckpoint), a search's
  // pruning (on_epoch_end) or early stopping; records which in the result.
  bool stop_after(int epoch, const Metrics& metrics, bool requested);
  // After the last epoch: the best epoch and the whole model's parameter digest (collective).
  TrainResult finish();

  const TrainResult& result() const { return result_; }
  int first_epoch() const { return state_.epoch; }

 private:
  void build_training_parts();
  void prepare_outputs();
  void repair_resumed_sidecar();
  // The metrics metrics.jsonl recorded for `epoch` (rank 0; empty when none or unreadable).
  Metrics recorded_metrics(int epoch) const;
  void log_start() const;
  bool ask_on_resume();
  // Saves `last` inside `epoch` after micro-batch `mb` and ends the run (signal or request).
  void stop_mid_epoch(int epoch, int64_t mb, int signal, const EpochTotals& totals);
  // The sidecar of a checkpoint (kind last, best or epoch) of state `s`.
  model::CheckpointSummary checkpoint_summary(const char* kind, const model::CheckpointState& s,
                                              const Metrics& metrics) const;
  // Writes checkpoint `bytes` at `path` with its sidecar (crash-safe order, checkpoints/commit.h).
  void commit(const std::filesystem::path& path, const std::string& bytes, const char* kind,
              const model::CheckpointState& s, const Metrics& metrics);

  const TrainOptions options_;
  dist::Communicator& comm_;
  const torch::Device device_;
  const int rank_;
  const bool root_;
  const int threads_;
  std::string run_name_;
  const std::filesystem::path resume_path_;  // empty: a fresh run
  TrainingData data_;
  Config config_;           // as trained: unset id dropout resolved from the split
  std::string id_dropout_;  // how it was resolved (logged)
  model::NetworkSpec spec_;
  model::RecommenderShape shape_;
  std::unique_ptr<model::Recommender> model_;
  model::CheckpointState state_;
  std::vector<torch::Tensor> dense_params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  model::RowOptimizerOptions row_options_;
  std::unique_ptr<NegativeSampler> sampler_;
  std::unique_ptr<model::BatchLoss> batch_loss_;  // training.loss over a batch's pairs
  std::unique_ptr<model::EpochBatches> batches_;
  std::unique_ptr<model::Validator> validator_;
  std::unique_ptr<model::GradientSync> sync_;
  // The ranks BatchNorm and the contrastive loss reduce over inside forward and backward.
  std::shared_ptr<dist::TensorCollectives> batch_ranks_;
  std::unique_ptr<EarlyStopping> stopper_;
  std::unique_ptr<LrSchedule> schedule_;
  TrainResult result_;
  std::unique_ptr<MetricsLog> metrics_log_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
  model::CheckpointMeta meta_;
  int64_t parameter_count_ = 0;
  int64_t signal_step_ = -1, stall_step_ = -1;  // test hooks (training.md)
};

}  // namespace pixelrec::train
