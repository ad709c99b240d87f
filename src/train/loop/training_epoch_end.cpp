// The end of an epoch: validation and the epoch's metrics, the outputs (metrics log,
// TensorBoard, checkpoints with their sidecars) and the decision to stop.
#include <spdlog/spdlog.h>

#include "core/stopwatch.h"
#include "model/item_table_shards.h"
#include "train/loop/stop_requests.h"
#include "train/loop/training_run.h"

namespace pixelrec::train {
namespace {

std::string format_metrics(const Metrics& metrics, const std::string& monitored) {
  std::string out;
  for (const auto& [name, value] : metrics) {
    if (name != "train_loss" && name != "val_loss" && name != monitored && name != "val_ndcg@10" &&
        name != "val_hit_rate@10")
      continue;
    out += fmt::format(" {} {:.4f}", name, value);
  }
  return out;
}

}  // namespace

EpochMetricsResult TrainingRun::validate(int epoch, const EpochTotals& totals) {
  const TrainingConfig& tc = config_.training;
  // train_loss = bce_weight * ranking loss + contrastive_weight * InfoNCE, per example.
  EpochMetricsResult m;
  m.metrics.emplace_back("train_loss", totals.loss_sum / totals.loss_count);
  if (config_.model.use_contrastive && tc.contrastive_weight > 0)
    m.metrics.emplace_back("train_contrastive", totals.contrastive_sum / totals.loss_count);
  if (!validator_->empty()) {
    // The history rows once: item-sharded, scoring then needs no collectives; with content
    // pooling, no item-tower pass per scored block.
    if (model_->items_sharded() || model_->pools_content()) model_->share_history_rows();
    for (auto& metric : validator_->run(*model_, comm_)) m.metrics.push_back(metric);
    model_->drop_history_rows();
  }
  const double monitored = metric_value(m.metrics, tc.early_stopping_metric);
  schedule_->end_epoch(epoch, monitored);
  m.improved = stopper_->update(epoch, monitored);
  m.metrics.emplace_back("lr", totals.lr);
  m.metrics.emplace_back("epoch_seconds", seconds_since(totals.start));
  m.metrics.emplace_back("train_samples_per_second",
                         totals.examples / std::max(totals.train_seconds, 1e-9));
  m.metrics.emplace_back("skipped_negatives", double(batches_->skipped_negatives()));
  if (root_ && options_.on_progress) options_.on_progress(state_.global_step);
  return m;
}

StopRequest TrainingRun::agreed_stop_request() {
  if (!options_.stop_request) return StopRequest::kNone;
  int64_t code = root_ ? request_code(options_) : 0;
  comm_.broadcast(&code, sizeof code, 0);
  if (code == kAbandonRequest) return StopRequest::kAbandon;
  return code == kCheckpointRequest ? StopRequest::kCheckpoint : StopRequest::kNone;
}

void TrainingRun::save_epoch(int epoch, const EpochTotals& totals, const EpochMetricsResult& m) {
  const TrainingConfig& tc = config_.training;
  state_.epoch = epoch + 1;
  state_.step_in_epoch = 0;
  state_.epoch_loss_sum = state_.epoch_loss_count = state_.epoch_contrastive_sum = 0;
  state_.scheduler = schedule_->state();
  state_.early_stopping = stopper_->state();
  state_.finished = epoch + 1 >= tc.epochs || stopper_->should_stop();
  result_.epochs_completed = epoch + 1;
  result_.last_metrics = m.metrics;
  if (root_) {
    metrics_log_->append({epoch, m.metrics});
    for (const auto& [name, value] : m.metrics)
      tensorboard_->add_scalar(name, float(value), epoch + 1);
    tensorboard_->flush();
  }
  std::string bytes;
  model::with_full_item_table(*model_, comm_, [&] {
    if (root_) bytes = model::serialize_checkpoint(*model_, optimizer_.get(), meta_, state_);
  });
  if (root_) {
    commit(result_.checkpoint_dir / "last.pt", bytes, "last", state_, m.metrics);
    if (m.improved) commit(result_.checkpoint_dir / "best.pt", bytes, "best", state_, m.metrics);
    const int every = tc.checkpoint_every_epochs;
    if (every > 0 && (epoch + 1) % every == 0) {
      const auto snapshot = result_.checkpoint_dir / fmt::format("epoch_{:04d}.pt", epoch + 1);
      commit(snapshot, bytes, "epoch", state_, m.metrics);
    }
  }
  spdlog::info("epoch {}/{}:{}{} ({:.1f} s, {:.0f} samples/s)", epoch + 1, tc.epochs,
               format_metrics(m.metrics, tc.early_stopping_metric), m.improved ? " (best)" : "",
               seconds_since(totals.start), totals.examples / std::max(totals.train_seconds, 1e-9));
}

bool TrainingRun::stop_after(int epoch, const Metrics& metrics, bool requested) {
  const TrainingConfig& tc = config_.training;
  if (requested) {
    spdlog::warn("stopped after epoch {} of {} at the caller's request: saved {}", epoch + 1,
                 tc.epochs, (result_.checkpoint_dir / "last.pt").string());
    result_.stopped_by_request = true;
    return true;
  }
  // A search trial's pruning decision: rank 0 asks, every rank stops at this epoch.
  if (options_.on_epoch_end) {
    int64_t stop = root_ && options_.on_epoch_end(epoch, metrics) ? 1 : 0;
    comm_.broadcast(&stop, sizeof stop, 0);
    if (stop) {
      // Every rank says so (a warning, so non-root ranks print it too): they stop together.
      spdlog::warn("stopped after epoch {} of {} at the caller's request", epoch + 1, tc.epochs);
      result_.stopped_by_callback = true;
      return true;
    }
  }
  if (stopper_->should_stop()) {
    spdlog::info("early stopping: {} has not improved for {} epochs (best {:.4f} at epoch {})",
                 tc.early_stopping_metric, tc.patience, stopper_->best(),
                 stopper_->best_epoch() + 1);
    result_.early_stopped = true;
    return true;
  }
  return false;
}

model::CheckpointSummary TrainingRun::checkpoint_summary(const char* kind,
                                                         const model::CheckpointState& s,
                                                         const Metrics& metrics) const {
  model::CheckpointSummary summary;
  summary.kind = kind;
  summary.run_name = run_name_;
  summary.epochs_completed = s.epoch;
  summary.global_step = s.global_step;
  summary.finished = s.finished;
  summary.feature_fingerprint = meta_.feature_fingerprint;
  summary.parameters = parameter_count_;
  summary.monitored_metric = config_.training.early_stopping_metric;
  summary.best_value = stopper_->best();
  summary.best_epoch = stopper_->best_epoch();
  summary.metrics = metrics;
  return summary;
}

void TrainingRun::commit(const std::filesystem::path& path, const std::string& bytes,
                         const char* kind, const model::CheckpointState& s,
                         const Metrics& metrics) {
  model::commit_checkpoint(path, bytes, config_, checkpoint_summary(kind, s, metrics));
}

}  // namespace pixelrec::train
