// TrainingRun's set-up and its loop over epochs; the epoch's steps are in training_epoch.cpp
// (batches) and training_epoch_end.cpp (validation, outputs, stopping).
#include "train/loop/training_run.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "checkpoints/commit.h"
#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"
#include "core/temp_files.h"
#include "model/checkpoint_sidecar.h"
#include "model/cold_rows.h"
#include "model/device.h"
#include "model/interrupt.h"
#include "model/item_table_shards.h"
#include "train/loop/stop_requests.h"

namespace pixelrec::train {
namespace fs = std::filesystem;
namespace {

std::string default_run_name() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "run-%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}

// The checkpoint --resume names (empty for a fresh run). A commit of a checkpoint with its
// sidecar that a crash interrupted is completed or undone first.
fs::path find_resume_checkpoint(const Config& config, const TrainOptions& options, bool root) {
  if (options.resume.empty()) return {};
  const fs::path path = resolve_checkpoint(config, options.run_name, options.resume);
  if (root) checkpoints::recover_interrupted_commits(path.parent_path());
  if (!fs::exists(path)) throw Error("--resume: checkpoint " + path.string() + " does not exist");
  return path;
}

// The threads of LibTorch and BLAS for this rank, set before anything computes.
int use_compute_threads(const Config& config, int local_world_size) {
  const int threads = model::training_threads(config, local_world_size);
  model::set_compute_threads(threads);
  return threads;
}

}  // namespace

TrainingRun::TrainingRun(const Config& requested, const TrainOptions& options,
                         dist::Communicator& comm)
    : options_(options),
      comm_(comm),
      device_(model::compute_device(options.device, options.local_rank)),
      rank_(comm.rank()),
      root_(comm.is_root()),
      threads_(use_compute_threads(requested, comm.size())),
      run_name_(options.run_name),
      resume_path_(find_resume_checkpoint(requested, options, root_)),
      data_(load_training_data(requested, comm)),
      config_(requested) {
  id_dropout_ = model::resolve_id_dropout(config_.model, model::count_cold_ids(data_.split));
  const SplitData& split = data_.split;
  spec_ = {config_.model, model::uses_tags(config_), data_.inputs};
  shape_ = {int64_t(split.num_train_users()), int64_t(split.num_items()),
            int64_t(data_.shard.tag_vocab.size())};
  if (!resume_path_.empty()) {
    model::LoadedCheckpoint loaded = model::load_checkpoint(resume_path_);
    if (loaded.meta.user_map_hash != model::hash_ids(split.user_map.ids()) ||
        loaded.meta.item_map_hash != model::hash_ids(split.item_map.ids()))
      throw Error("checkpoint " + resume_path_.string() +
                  " was trained on another split (its id maps differ from " +
                  split.directory.string() + ")");
    model::check_scorer(loaded, config_);
    const std::string& loss = config_.training.loss;
    if (loaded.meta.loss != loss)
      throw Error("checkpoint " + resume_path_.string() + " was trained with training.loss " +
                  loaded.meta.loss + " but the config asks for " + loss +
                  "; resume with --set training.loss=" + loaded.meta.loss +
                  " (or start a new run)");
    if (run_name_.empty()) run_name_ = loaded.meta.run_name;
    state_ = loaded.state;
    model_ = std::move(loaded.model);
  } else {
    torch::manual_seed(uint64_t(config_.training.seed));
    model_ = std::make_unique<model::Recommender>(spec_, shape_);
  }
  if (run_name_.empty()) run_name_ = default_run_name();
  model_->use_training_history(split);
  // bpr and softmax compare scores: the MLP head's output bias gets no gradient (see batch_loss.h).
  if (config_.training.loss != "bce") model_->network()->freeze_output_bias();
  model_->to(device_);  // before the optimizer takes the parameters
  data_.features = model::to_device(data_.features, device_);
  model_->use_item_features(data_.features);
  build_training_parts();
  prepare_outputs();
  log_start();
  // Each rank keeps the item-table rows of its shard (ARCHITECTURE.md): they are the only rows
  // its batches touch, so their gradients and optimizer state need no communication.
  if (comm_.size() > 1) {
    model_->shard_items(int64_t(data_.shard.range.begin), int64_t(data_.shard.range.end));
    spdlog::info("rank {} item embeddings: {}", rank_, model::describe_item_shard(*model_));
  }
}

TrainingRun::~TrainingRun() = default;

// The optimizer, negatives, batches, validation, gradient exchange and the epoch policies.
void TrainingRun::build_training_parts() {
  const TrainingConfig& tc = config_.training;
  const SplitData& split = data_.split;
  dense_params_ = model::dense_parameters(*model_);
  optimizer_ = model::make_dense_optimizer(tc, dense_params_);
  if (!resume_path_.empty()) model::load_optimizer_state(resume_path_, *optimizer_, device_);
  row_options_ = model::row_optimizer_options(tc);
  sampler_ = std::make_unique<NegativeSampler>(
      parse_negative_strategy(config_.data.negative_sampling_strategy), data_.candidates,
      split.train_item_counts(), UserItemIndex(split.num_users(), split.train));
  batch_loss_ =
      std::make_unique<model::BatchLoss>(tc.loss, split.train_item_counts(), *sampler_, device_);
  batches_ = std::make_unique<model::EpochBatches>(data_.positive_users, data_.positive_items,
                                                   *sampler_, config_.data.negative_sampling_ratio,
                                                   uint64_t(tc.seed), data_.shard.range, threads_);
  validator_ = std::make_unique<model::Validator>(config_, split, data_.features, data_.candidates,
                                                  threads_);
  sync_ = std::make_unique<model::GradientSync>(comm_, device_);
  if (comm_.size() > 1) batch_ranks_ = dist::tensor_collectives(comm_);
  model_->network()->set_ranks(batch_ranks_.get(), rank_);
  if (resume_path_.empty()) sync_->broadcast_parameters(*model_);
  sync_->register_dense(dense_params_);

  const auto names = validator_->metric_names();
  if (std::find(names.begin(), names.end(), tc.early_stopping_metric) == names.end())
    throw ConfigError("training.early_stopping_metric '" + tc.early_stopping_metric +
                      "' is not a validation metric; use one of: " + join(names, ", "));
  const Direction direction =
      resolve_direction(tc.early_stopping_metric, tc.early_stopping_direction);
  stopper_ = std::make_unique<EarlyStopping>(tc.early_stopping_metric, direction, tc.patience);
  schedule_ =
      std::make_unique<LrSchedule>(lr_schedule_options(tc, direction == Direction::kMaximize));
  if (!resume_path_.empty()) {
    schedule_->load_state(state_.scheduler);
    stopper_->load_state(state_.early_stopping);
  }
  for (const auto& p : model_->network()->parameters()) parameter_count_ += p.numel();
  for (auto* table : model_->tables()) parameter_count_ += table->weight().numel();
  signal_step_ =
      test_step_hook("PIXELREC_TEST_SIGNAL_AFTER_STEPS", "PIXELREC_TEST_SIGNAL_RANK", rank_, -1);
  stall_step_ =
      test_step_hook("PIXELREC_TEST_STALL_AFTER_STEPS", "PIXELREC_TEST_STALL_RANK", rank_, 0);
}

// The run folder (rank 0): config.yaml, train.log, metrics.jsonl/csv, tb/, checkpoints; and the
// metadata every checkpoint of the run carries.
void TrainingRun::prepare_outputs() {
  result_.run_dir = fs::path(config_.results_dir) / run_name_;
  result_.checkpoint_dir = fs::path(config_.checkpoint_dir) / run_name_;
  result_.monitored_metric = config_.training.early_stopping_metric;
  result_.epochs_completed = state_.epoch;
  if (root_ && resume_path_.empty() && fs::exists(result_.run_dir / "metrics.jsonl")) {
    if (!options_.overwrite)
      throw UsageError("run '" + run_name_ + "' already exists in " + result_.run_dir.string() +
                       "; continue it with --resume last, pick another --run-name, or pass "
                       "--overwrite to start it again");
    fs::remove_all(result_.run_dir);
    fs::remove_all(result_.checkpoint_dir);
  }
  if (root_) {
    ensure_directory(result_.run_dir);
    ensure_directory(result_.checkpoint_dir);
    remove_stale_temp_files(result_.run_dir);
    remove_stale_temp_files(result_.checkpoint_dir);
    write_resolved_config(config_, result_.run_dir / "config.yaml");
    add_log_file(result_.run_dir / "train.log");
    metrics_log_ = std::make_unique<MetricsLog>(result_.run_dir / "metrics.jsonl",
                                                result_.run_dir / "metrics.csv");
    metrics_log_->truncate_after(state_.epoch - 1);
    tensorboard_ = std::make_unique<TensorBoardWriter>(result_.run_dir / "tb");
  }
  meta_.config_yaml = config_to_yaml(config_);
  meta_.run_name = run_name_;
  meta_.feature_fingerprint = data_.shard.fingerprint;
  meta_.user_map_hash = model::hash_ids(data_.split.user_map.ids());
  meta_.item_map_hash = model::hash_ids(data_.split.item_map.ids());
  meta_.use_tags = spec_.use_tags;
  meta_.content = data_.inputs;
  meta_.shape = shape_;
  meta_.scorer = config_.model.scorer;
  meta_.loss = config_.training.loss;
  if (root_ && !resume_path_.empty()) {
    // What a checkpoint saved before this process completes an epoch records as the last one's.
    result_.last_metrics = recorded_metrics(state_.epoch - 1);
    if (resume_path_.parent_path() == result_.checkpoint_dir) repair_resumed_sidecar();
  }
}

Metrics TrainingRun::recorded_metrics(int epoch) const {
  Metrics recorded;
  try {
    for (auto& e : MetricsLog::read_jsonl(metrics_log_->jsonl_path()))
      if (e.epoch == epoch) recorded = e.values;
  } catch (const std::exception& e) {
    spdlog::warn("cannot read the resumed run's metrics: {}", e.what());
  }
  return recorded;
}

// A crash between a checkpoint and its sidecar (or a copy by hand) left the resumed checkpoint
// of this run without a sidecar that describes it: rewrite the sidecar from the checkpoint.
void TrainingRun::repair_resumed_sidecar() {
  const std::string why = model::sidecar_mismatch(resume_path_, state_.epoch, state_.global_step);
  if (why.empty()) return;
  model::write_checkpoint_sidecar(
      resume_path_, config_,
      checkpoint_summary(model::checkpoint_kind(resume_path_), state_, result_.last_metrics));
  spdlog::warn("{}: {}; rewrote it from the checkpoint (epoch {}, step {})",
               model::sidecar_path(resume_path_).string(), why, state_.epoch, state_.global_step);
}

void TrainingRun::log_start() const {
  if (!id_dropout_.empty()) spdlog::info("cold rows: {}", id_dropout_);
  const TrainingConfig& tc = config_.training;
  if (root_ && tc.loss != "bce" && tc.early_stopping_metric == "val_loss")
    spdlog::warn(
        "training.early_stopping_metric is val_loss, the BCE of the validation pairs, but "
        "training.loss is {}: early stopping would watch a loss the model is not trained on; "
        "monitor a ranking metric, e.g. --set training.early_stopping_metric=val_ndcg@10",
        tc.loss);
  std::string modalities;
  for (const auto& c : data_.inputs) modalities += (modalities.empty() ? "" : ", ") + c.name;
  spdlog::info(
      "run '{}': {} training positives ({} with items of rank {}'s shard), {} items, {} users, "
      "modalities [{}], fusion {}, {} thread(s){}",
      run_name_, batches_->positives(), batches_->shard_positives(), rank_, data_.split.num_items(),
      data_.split.num_train_users(), modalities, config_.model.fusion_type, threads_,
      resume_path_.empty() ? "" : ", resuming from " + resume_path_.string());
}

// A resumed search trial reports the epochs its checkpoint completed; its caller may stop here.
bool TrainingRun::ask_on_resume() {
  if (resume_path_.empty() || !options_.on_resume) return false;
  int64_t stop = 0;
  if (root_) {
    std::vector<EpochMetrics> recorded;
    try {
      if (fs::exists(metrics_log_->jsonl_path()))
        recorded = MetricsLog::read_jsonl(metrics_log_->jsonl_path());
    } catch (const std::exception& e) {  // the other ranks wait for the decision: never throw
      spdlog::warn("cannot read the resumed run's metrics: {}", e.what());
    }
    stop = options_.on_resume(recorded) ? 1 : 0;
  }
  comm_.broadcast(&stop, sizeof stop, 0);
  if (stop)
    spdlog::warn("stopped at epoch {} of {} at the caller's request, on resuming", state_.epoch,
                 config_.training.epochs);
  return stop != 0;
}

TrainResult TrainingRun::run() {
  model::install_interrupt_handlers();
  struct RestoreHandlers {
    ~RestoreHandlers() { model::restore_interrupt_handlers(); }
  } restore_handlers;
  if (stopper_->should_stop()) {
    spdlog::info("the checkpoint's run already stopped early at epoch {}", state_.epoch);
    result_.early_stopped = true;
  }
  result_.stopped_by_callback = ask_on_resume();
  for (int epoch = state_.epoch;
       epoch < config_.training.epochs && !result_.early_stopped && !result_.stopped_by_callback;
       ++epoch) {
    EpochTotals totals;
    if (train_epoch(epoch, totals) == EpochEnd::kInterrupted) return result_;
    const EpochMetricsResult m = validate(epoch, totals);
    const StopRequest request = agreed_stop_request();
    if (request == StopRequest::kAbandon) {
      spdlog::warn("abandoned after epoch {}'s validation at the caller's request; nothing saved",
                   epoch + 1);
      result_.abandoned = true;
      return result_;
    }
    save_epoch(epoch, totals, m);
    if (stop_after(epoch, m.metrics, request == StopRequest::kCheckpoint)) break;
  }
  return finish();
}

TrainResult TrainingRun::finish() {
  result_.best_epoch = stopper_->best_epoch();
  result_.best_value = stopper_->best();
  // The digest of the whole model (world-size independent): the item shards are gathered.
  if (model_->items_sharded()) model::gather_item_table(*model_, comm_);
  result_.parameter_digest = model::parameter_digest(*model_);
  return result_;
}

TrainResult train(const Config& config, const TrainOptions& options, dist::Communicator& comm) {
  return TrainingRun(config, options, comm).run();
}

fs::path resolve_checkpoint(const Config& config, const std::string& run_name,
                            const std::string& which) {
  if (which == "last" || which == "best") {
    if (run_name.empty())
      throw UsageError("--resume " + which +
                       " needs --run-name NAME (the run whose checkpoint to continue)");
    return fs::path(config.checkpoint_dir) / run_name / (which + ".pt");
  }
  return which;
}

}  // namespace pixelrec::train
