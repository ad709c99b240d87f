// TrainingRun::train_epoch: the micro-batches of one epoch (forward, loss, backward, the
// optimizer step with its gradient exchange), and the mid-epoch stop a signal or request causes.
#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>

#include "core/progress.h"
#include "core/stopwatch.h"
#include "model/interrupt.h"
#include "model/item_table_shards.h"
#include "train/loop/step_context.h"
#include "train/loop/stop_requests.h"
#include "train/loop/training_run.h"

namespace pixelrec::train {

EpochEnd TrainingRun::train_epoch(int epoch, EpochTotals& totals) {
  const TrainingConfig& tc = config_.training;
  const int64_t batch_size = tc.batch_size;
  const int64_t accumulation = tc.gradient_accumulation_steps;
  const uint64_t seed = uint64_t(tc.seed);
  const bool several_ranks = comm_.size() > 1;
  totals.start = SteadyClock::now();
  batches_->start_epoch(epoch);
  const int64_t micro_batches = batches_->count(batch_size);
  const int64_t steps_per_epoch = (micro_batches + accumulation - 1) / accumulation;
  int64_t first = 0;
  if (epoch == state_.epoch && state_.step_in_epoch > 0) {  // mid-epoch resume
    first = state_.step_in_epoch;
    if (root_) {  // the checkpoint holds all ranks' sums; they are summed again at epoch end
      totals.loss_sum = state_.epoch_loss_sum;
      totals.loss_count = state_.epoch_loss_count;
      totals.contrastive_sum = state_.epoch_contrastive_sum;
    }
  }
  ProgressBar progress(fmt::format("epoch {}/{}", epoch + 1, tc.epochs), uint64_t(micro_batches),
                       root_ && options_.progress);
  progress.advance(uint64_t(first));
  model_->train(true);
  for (int64_t mb = first; mb < micro_batches; ++mb) {
    const model::Batch batch = batches_->batch(mb, batch_size);
    seed_batch_generator(seed, epoch, mb, rank_);
    const int64_t group_start = mb - mb % accumulation;
    const int64_t group_size = std::min(accumulation, micro_batches - group_start);
    const int64_t local = batch.users.size(0);
    const double global = double(batch.global_pairs);
    // This rank's share of the global batch's mean loss: its pairs' sum / all ranks' pairs, so
    // the gradients summed over ranks are the one-process gradient of the global batch. With
    // several ranks, every rank runs forward and backward, even with no pairs: BatchNorm and the
    // contrastive loss reduce over ranks inside them. BatchNorm needs 2 rows in the global batch.
    torch::Tensor loss;
    double reported_loss = 0;  // this rank's share of the global batch's loss
    const bool run_step =
        (local > 0 || several_ranks) && !(config_.model.use_batch_norm && batch.global_pairs < 2);
    if (run_step) {
      AutocastScope autocast(tc.mixed_precision, device_);
      model::ItemSide side;
      model::BatchDraws draws{batch_seed(seed, epoch, mb), batch.positions,
                              *config_.model.item_id_dropout, *config_.model.user_id_dropout,
                              batch.positive_rows};
      const model::BatchLossValue ranking =
          (*batch_loss_)(*model_, batch, data_.features, &side, draws, batch_ranks_.get(), rank_);
      loss = tc.bce_weight * ranking.loss;
      reported_loss = tc.bce_weight * ranking.reported;
      if (config_.model.use_contrastive && tc.contrastive_weight > 0) {
        // InfoNCE over the global batch's distinct items: the same value on every rank, each
        // rank's gradient covering its own items.
        const torch::Tensor contrastive =
            model_->network()->contrastive(side, draws.seed).to(torch::kFloat);
        const double value = contrastive.item<double>();
        totals.contrastive_sum += value * double(local);
        reported_loss += tc.contrastive_weight * value * (double(local) / global);
        loss = loss + tc.contrastive_weight * contrastive;
      }
    }
    // The step's last backward reduces gradient buckets as they become ready (async backends).
    if (mb + 1 == group_start + group_size) sync_->arm_overlap();
    if (loss.defined()) {
      (loss / double(group_size)).backward();
      totals.loss_sum += reported_loss * global;
    }
    totals.loss_count += double(local);
    progress.advance();
    if (mb + 1 != group_start + group_size) continue;

    totals.lr = schedule_->lr(epoch, mb / accumulation, steps_per_epoch);
    // The test hook's signal arrives during step `signal_step`, before its exchange.
    if (state_.global_step + 1 == signal_step_) std::raise(SIGTERM);
    // Agreed on within the step's row exchange, with the caller's stop request (rank 0).
    sync_->note_signal(std::max(model::pending_interrupt(), root_ ? request_code(options_) : 0));
    model::optimizer_step(*model_, *optimizer_, dense_params_, row_options_, totals.lr,
                          tc.gradient_clip, sync_.get());
    ++state_.global_step;
    if (root_ && options_.on_progress) options_.on_progress(state_.global_step);
    if (state_.global_step == stall_step_) {
      // Logged so a test can act while this rank (and, waiting for it, every other) pauses.
      spdlog::info("test hook: rank {} pauses {} s after step {}", rank_,
                   test_stall_duration().count(), stall_step_);
      std::this_thread::sleep_for(test_stall_duration());
    }
    if (tensorboard_ && state_.global_step % 50 == 0)
      tensorboard_->add_scalar("train/loss_step", float(reported_loss), state_.global_step);
    // Every rank stops at the same step when any rank received SIGINT/SIGTERM/SIGUSR1.
    if (const int signal = sync_->agreed_signal()) {
      progress.finish();
      stop_mid_epoch(epoch, mb, signal, totals);
      return EpochEnd::kInterrupted;
    }
  }
  progress.finish();
  totals.train_seconds = seconds_since(totals.start);
  const double resumed_examples = first > 0 && root_ ? state_.epoch_loss_count : 0;
  double sums[4] = {totals.loss_sum, totals.loss_count, totals.contrastive_sum,
                    totals.loss_count - resumed_examples};
  comm_.allreduce_sum(sums, 4);
  totals.loss_sum = sums[0], totals.loss_count = sums[1], totals.contrastive_sum = sums[2];
  totals.examples = sums[3];
  return EpochEnd::kCompleted;
}

void TrainingRun::stop_mid_epoch(int epoch, int64_t mb, int signal, const EpochTotals& totals) {
  if (signal == kAbandonRequest) {
    spdlog::warn("abandoned at epoch {} step {} at the caller's request; nothing saved", epoch + 1,
                 mb + 1);
    result_.abandoned = true;
    return;
  }
  double sums[3] = {totals.loss_sum, totals.loss_count, totals.contrastive_sum};
  comm_.allreduce_sum(sums, 3);
  model::CheckpointState mid = state_;
  mid.epoch = epoch;
  mid.step_in_epoch = mb + 1;
  mid.finished = false;  // inside an epoch (a finished run resumed for more carries its old flag)
  mid.epoch_loss_sum = sums[0];
  mid.epoch_loss_count = sums[1];
  mid.epoch_contrastive_sum = sums[2];
  mid.scheduler = schedule_->state();
  mid.early_stopping = stopper_->state();
  const std::filesystem::path last_path = result_.checkpoint_dir / "last.pt";
  model::with_full_item_table(*model_, comm_, [&] {
    if (!root_) return;
    commit(last_path, model::serialize_checkpoint(*model_, optimizer_.get(), meta_, mid), "last",
           mid, result_.last_metrics);
  });
  if (signal == kCheckpointRequest) {
    spdlog::warn("stopped at epoch {} step {} at the caller's request: saved {}", epoch + 1, mb + 1,
                 last_path.string());
    result_.stopped_by_request = true;
    result_.interrupted_by = model::pending_interrupt();  // a signal that arrived meanwhile
  } else {
    spdlog::warn(
        "signal {} received: saved {} at epoch {} step {}; continue with "
        "`pixelrec train --run-name {} --resume last`",
        signal, last_path.string(), epoch + 1, mb + 1, run_name_);
    result_.interrupted_by = signal;
  }
  model::clear_interrupt();
}

}  // namespace pixelrec::train
