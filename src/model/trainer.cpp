#include "model/trainer.h"

#include <ATen/autocast_mode.h>
#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/strings.h"
#include "data/split_data.h"
#include "features/feature_store.h"
#include "model/checkpoint.h"
#include "model/checkpoint_sidecar.h"
#include "model/cold_rows.h"
#include "model/device.h"
#include "model/gradient_sync.h"
#include "model/interrupt.h"
#include "model/item_table_shards.h"
#include "model/optimizers.h"
#include "model/training_batches.h"
#include "model/validation.h"
#include "train/early_stopping.h"
#include "train/lr_schedule.h"
#include "train/metrics_log.h"
#include "train/tensorboard.h"

namespace pixelrec::model {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string default_run_name() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "run-%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}

// Dropout, id dropout and the contrastive subset draw from (seed, epoch, batch) and the keys of
// what they drop (BatchDraws), not from the rank: a run resumed mid-epoch, on any number of
// ranks, draws exactly the same. What still draws from torch's generator (attention fusion's
// dropout) is reseeded per micro-batch and rank.
uint64_t batch_seed(uint64_t seed, int epoch, int64_t batch) {
  return Rng::stream(seed, {0x4452415753ull /* "DRAWS" */, uint64_t(epoch), uint64_t(batch)})
      .next();
}

void seed_batch_generator(uint64_t seed, int epoch, int64_t batch, int rank) {
  Rng rng = Rng::stream(
      seed, {0x544F524348ull /* "TORCH" */, uint64_t(epoch), uint64_t(batch), uint64_t(rank)});
  torch::manual_seed(rng.next() >> 1);
}

// Mixed precision: bfloat16 autocast around the forward pass, on the CPU or the GPU (bfloat16
// keeps float32's range, so no loss scaling is needed).
class AutocastScope {
 public:
  AutocastScope(bool enabled, const torch::Device& device)
      : enabled_(enabled), type_(device.type()) {
    if (!enabled_) return;
    at::autocast::set_autocast_dtype(type_, at::kBFloat16);
    at::autocast::set_autocast_enabled(type_, true);
  }
  ~AutocastScope() {
    if (!enabled_) return;
    at::autocast::set_autocast_enabled(type_, false);
    at::autocast::clear_cache();
  }

 private:
  bool enabled_;
  at::DeviceType type_;
};

double find_metric(const std::vector<std::pair<std::string, double>>& metrics,
                   const std::string& name) {
  for (const auto& [n, v] : metrics)
    if (n == name) return v;
  return std::numeric_limits<double>::quiet_NaN();
}

std::string format_metrics(const std::vector<std::pair<std::string, double>>& metrics,
                           const std::string& monitored) {
  std::string out;
  for (const auto& [name, value] : metrics) {
    if (name != "train_loss" && name != "val_loss" && name != monitored && name != "val_ndcg@10" &&
        name != "val_hit_rate@10")
      continue;
    out += fmt::format(" {} {:.4f}", name, value);
  }
  return out;
}

struct Setup {
  SplitData split;
  features::FeatureShard shard;
  std::vector<ContentInput> inputs;
  ItemFeatures features;
  std::vector<uint32_t> positive_users, positive_items;
  std::vector<uint32_t> candidates;  // training items (negatives are drawn from these)
};

Setup load_training_data(const Config& config, dist::Communicator& comm) {
  Setup s;
  s.split = load_split_data(config);
  const fs::path store = config.feature_store_path();
  if (!fs::exists(store))
    throw Error("feature store " + store.string() + " does not exist; run `pixelrec cache` first");
  for (uint32_t i = 0; i < s.split.num_items(); ++i)
    if (s.split.item_in_train[i]) s.candidates.push_back(i);
  // Shards balanced on expected pairs (positives and their negatives), not positives alone.
  const std::vector<int64_t> weights =
      shard_weights(parse_negative_strategy(config.data.negative_sampling_strategy), s.candidates,
                    s.split.train_item_counts(), config.data.negative_sampling_ratio);
  s.shard = features::load_feature_shard(store, comm.rank(), comm.size(), weights);
  if (s.shard.total_items != s.split.num_items())
    throw Error("feature store " + store.string() + " holds " +
                std::to_string(s.shard.total_items) + " items but the split's item_map.csv has " +
                std::to_string(s.split.num_items()) +
                "; the store is from another split: re-run `pixelrec cache`");
  s.inputs = content_inputs(config, s.shard);
  s.features = make_item_features(s.shard, s.inputs, s.split.item_in_train);
  // The tensors own copies now: release the store's buffers (else each rank holds its shard twice).
  for (auto& block : s.shard.modalities) {
    std::vector<float>().swap(block.values);
    std::vector<uint8_t>().swap(block.present);
  }
  // Every rank knows every positive (cheap: two ints each) so that all derive the same global
  // batches; each trains on the pairs whose item is in its shard.
  s.positive_users = s.split.train.user;
  s.positive_items = s.split.train.item;
  return s;
}

// Test hooks: PIXELREC_TEST_SIGNAL_AFTER_STEPS=N raises SIGTERM after optimizer step N (on rank
// PIXELREC_TEST_SIGNAL_RANK only, when set), so tests can interrupt training at an exact point;
// PIXELREC_TEST_STALL_AFTER_STEPS=N makes rank PIXELREC_TEST_STALL_RANK (default 0) sleep there
// (PIXELREC_TEST_STALL_SECONDS, default 600), a stalled peer for the collective timeout.
int64_t test_step_hook(const char* steps_variable, const char* rank_variable, int rank,
                       int default_rank) {
  const char* steps = std::getenv(steps_variable);
  const char* only = std::getenv(rank_variable);
  if (!steps) return -1;
  if (only ? std::atoi(only) != rank : (default_rank >= 0 && rank != default_rank)) return -1;
  return std::atoll(steps);
}

// A caller's stop request rides the per-step agreement on a pending signal (the largest value
// over ranks wins): above every signal number, and abandoning above checkpointing.
constexpr int kCheckpointRequest = 100;
constexpr int kAbandonRequest = 101;

int request_code(const TrainOptions& options) {
  if (!options.stop_request) return 0;
  switch (options.stop_request()) {
    case StopRequest::kCheckpoint:
      return kCheckpointRequest;
    case StopRequest::kAbandon:
      return kAbandonRequest;
    default:
      return 0;
  }
}

// How long the stall hook sleeps: PIXELREC_TEST_STALL_SECONDS, else 10 minutes.
std::chrono::seconds test_stall_duration() {
  const char* seconds = std::getenv("PIXELREC_TEST_STALL_SECONDS");
  return std::chrono::seconds(seconds ? std::atoll(seconds) : 600);
}

}  // namespace

int training_threads(const Config& config, int local_world_size) {
  if (config.training.num_workers > 0) return config.training.num_workers;
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, local_world_size));
}

void set_compute_threads(int threads) {
  at::set_num_threads(threads);
  // A BLAS loaded beside LibTorch (OpenBLAS, for OpenCV) keeps its own thread pool.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    fn(threads);
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

TrainResult train(const Config& requested, const TrainOptions& options, dist::Communicator& comm) {
  const torch::Device device = compute_device(options.device, options.local_rank);
  const int rank = comm.rank();
  const bool root = comm.is_root();
  const int threads = training_threads(requested, comm.size());
  set_compute_threads(threads);

  // Resuming continues the named run; a bare checkpoint path continues the run stored in it.
  std::string run_name = options.run_name;
  fs::path resume_path;
  if (!options.resume.empty()) {
    resume_path = resolve_checkpoint(requested, run_name, options.resume);
    if (!fs::exists(resume_path))
      throw Error("--resume: checkpoint " + resume_path.string() + " does not exist");
  }

  Setup data = load_training_data(requested, comm);
  const SplitData& split = data.split;
  // The config as trained (written beside the outputs and into checkpoints): unset id dropout
  // resolved from the split's cold ids.
  Config config = requested;
  const std::string id_dropout = resolve_id_dropout(config.model, count_cold_ids(split));
  const TrainingConfig& tc = config.training;
  NetworkSpec spec{config.model, uses_tags(config), data.inputs};
  RecommenderShape shape{int64_t(split.num_train_users()), int64_t(split.num_items()),
                         int64_t(data.shard.tag_vocab.size())};

  std::unique_ptr<Recommender> model;
  CheckpointState state;
  if (!resume_path.empty()) {
    LoadedCheckpoint loaded = load_checkpoint(resume_path);
    if (loaded.meta.user_map_hash != hash_ids(split.user_map.ids()) ||
        loaded.meta.item_map_hash != hash_ids(split.item_map.ids()))
      throw Error("checkpoint " + resume_path.string() +
                  " was trained on another split (its id maps differ from " +
                  split.directory.string() + ")");
    if (run_name.empty()) run_name = loaded.meta.run_name;
    state = loaded.state;
    model = std::move(loaded.model);
  } else {
    torch::manual_seed(uint64_t(tc.seed));
    model = std::make_unique<Recommender>(spec, shape);
  }
  if (run_name.empty()) run_name = default_run_name();
  model->to(device);  // before the optimizer takes the parameters
  data.features = to_device(data.features, device);

  const std::vector<torch::Tensor> dense_params = dense_parameters(*model);
  auto optimizer = make_dense_optimizer(tc, dense_params);
  if (!resume_path.empty()) load_optimizer_state(resume_path, *optimizer, device);
  const RowOptimizerOptions row_options = row_optimizer_options(tc);

  const NegativeSampler sampler(parse_negative_strategy(config.data.negative_sampling_strategy),
                                data.candidates, split.train_item_counts(),
                                UserItemIndex(split.num_users(), split.train));
  EpochBatches batches(data.positive_users, data.positive_items, sampler,
                       config.data.negative_sampling_ratio, uint64_t(tc.seed), data.shard.range,
                       threads);
  Validator validator(config, split, data.features, data.candidates, threads);
  GradientSync sync(comm, device);
  const bool several_ranks = comm.size() > 1;
  // The ranks BatchNorm and the contrastive loss reduce over inside forward and backward.
  const std::shared_ptr<TensorCollectives> batch_ranks =
      several_ranks ? tensor_collectives(comm) : nullptr;
  model->network()->set_ranks(batch_ranks.get(), rank);
  if (resume_path.empty()) sync.broadcast_parameters(*model);
  sync.register_dense(dense_params);

  const auto names = validator.metric_names();
  if (std::find(names.begin(), names.end(), tc.early_stopping_metric) == names.end())
    throw ConfigError("training.early_stopping_metric '" + tc.early_stopping_metric +
                      "' is not a validation metric; use one of: " + join(names, ", "));
  const train::Direction direction =
      train::resolve_direction(tc.early_stopping_metric, tc.early_stopping_direction);
  train::EarlyStopping stopper(tc.early_stopping_metric, direction, tc.patience);
  train::LrSchedule schedule(
      train::lr_schedule_options(tc, direction == train::Direction::kMaximize));
  if (!resume_path.empty()) {
    schedule.load_state(state.scheduler);
    stopper.load_state(state.early_stopping);
  }

  TrainResult result;
  result.run_dir = fs::path(config.results_dir) / run_name;
  result.checkpoint_dir = fs::path(config.checkpoint_dir) / run_name;
  result.monitored_metric = tc.early_stopping_metric;
  std::unique_ptr<train::MetricsLog> metrics_log;
  std::unique_ptr<train::TensorBoardWriter> tensorboard;
  if (root && resume_path.empty() && fs::exists(result.run_dir / "metrics.jsonl")) {
    if (!options.overwrite)
      throw UsageError("run '" + run_name + "' already exists in " + result.run_dir.string() +
                       "; continue it with --resume last, pick another --run-name, or pass "
                       "--overwrite to start it again");
    fs::remove_all(result.run_dir);
    fs::remove_all(result.checkpoint_dir);
  }
  if (root) {
    ensure_directory(result.run_dir);
    ensure_directory(result.checkpoint_dir);
    write_resolved_config(config, result.run_dir / "config.yaml");
    add_log_file(result.run_dir / "train.log");
    metrics_log = std::make_unique<train::MetricsLog>(result.run_dir / "metrics.jsonl",
                                                      result.run_dir / "metrics.csv");
    metrics_log->truncate_after(state.epoch - 1);
    tensorboard = std::make_unique<train::TensorBoardWriter>(result.run_dir / "tb");
  }
  if (!id_dropout.empty()) spdlog::info("cold rows: {}", id_dropout);
  spdlog::info(
      "run '{}': {} training positives ({} with items of rank {}'s shard), {} items, {} users, "
      "modalities [{}], fusion {}, {} thread(s){}",
      run_name, batches.positives(), batches.shard_positives(), rank, split.num_items(),
      split.num_train_users(),
      [&] {
        std::string m;
        for (const auto& c : data.inputs) m += (m.empty() ? "" : ", ") + c.name;
        return m;
      }(),
      config.model.fusion_type, threads,
      resume_path.empty() ? "" : ", resuming from " + resume_path.string());

  CheckpointMeta meta;
  meta.config_yaml = config_to_yaml(config);
  meta.run_name = run_name;
  meta.feature_fingerprint = data.shard.fingerprint;
  meta.user_map_hash = hash_ids(split.user_map.ids());
  meta.item_map_hash = hash_ids(split.item_map.ids());
  meta.use_tags = spec.use_tags;
  meta.content = data.inputs;
  meta.shape = shape;
  const fs::path last_path = result.checkpoint_dir / "last.pt";
  const fs::path best_path = result.checkpoint_dir / "best.pt";
  int64_t parameter_count = 0;
  for (const auto& p : model->network()->parameters()) parameter_count += p.numel();
  for (auto* table : model->tables()) parameter_count += table->weight().numel();
  // The sidecar of `path` (kind last, best or epoch) for the state just saved.
  const auto write_sidecar = [&](const fs::path& path, const char* kind, const CheckpointState& s,
                                 const std::vector<std::pair<std::string, double>>& metrics) {
    CheckpointSummary summary;
    summary.kind = kind;
    summary.run_name = run_name;
    summary.epochs_completed = s.epoch;
    summary.global_step = s.global_step;
    summary.finished = s.finished;
    summary.feature_fingerprint = meta.feature_fingerprint;
    summary.parameters = parameter_count;
    summary.monitored_metric = tc.early_stopping_metric;
    summary.best_value = stopper.best();
    summary.best_epoch = stopper.best_epoch();
    summary.metrics = metrics;
    write_checkpoint_sidecar(path, config, summary);
  };

  // Each rank keeps the item-table rows of its shard (ARCHITECTURE.md): they are the only rows its
  // batches touch, so their gradients and optimizer state need no communication.
  if (comm.size() > 1) {
    model->shard_items(int64_t(data.shard.range.begin), int64_t(data.shard.range.end));
    spdlog::info("rank {} item embeddings: {}", rank, describe_item_shard(*model));
  }

  install_interrupt_handlers();
  struct RestoreHandlers {
    ~RestoreHandlers() { restore_interrupt_handlers(); }
  } restore_handlers;
  const int64_t batch_size = tc.batch_size;
  const int64_t accumulation = tc.gradient_accumulation_steps;
  const uint64_t seed = uint64_t(tc.seed);
  const int64_t signal_step =
      test_step_hook("PIXELREC_TEST_SIGNAL_AFTER_STEPS", "PIXELREC_TEST_SIGNAL_RANK", rank, -1);
  const int64_t stall_step =
      test_step_hook("PIXELREC_TEST_STALL_AFTER_STEPS", "PIXELREC_TEST_STALL_RANK", rank, 0);
  result.epochs_completed = state.epoch;
  if (stopper.should_stop()) {
    spdlog::info("the checkpoint's run already stopped early at epoch {}", state.epoch);
    result.early_stopped = true;
  }
  if (!resume_path.empty() && options.on_resume) {
    int64_t stop = 0;
    if (root) {
      std::vector<train::EpochMetrics> recorded;
      try {
        if (fs::exists(metrics_log->jsonl_path()))
          recorded = train::MetricsLog::read_jsonl(metrics_log->jsonl_path());
      } catch (const std::exception& e) {  // the other ranks wait for the decision: never throw
        spdlog::warn("cannot read the resumed run's metrics: {}", e.what());
      }
      stop = options.on_resume(recorded) ? 1 : 0;
    }
    comm.broadcast(&stop, sizeof stop, 0);
    if (stop) {
      spdlog::warn("stopped at epoch {} of {} at the caller's request, on resuming", state.epoch,
                   tc.epochs);
      result.stopped_by_callback = true;
    }
  }

  for (int epoch = state.epoch;
       epoch < tc.epochs && !result.early_stopped && !result.stopped_by_callback; ++epoch) {
    const auto epoch_start = Clock::now();
    batches.start_epoch(epoch);
    const int64_t micro_batches = batches.count(batch_size);
    const int64_t steps_per_epoch = (micro_batches + accumulation - 1) / accumulation;
    int64_t first = 0;
    double loss_sum = 0, loss_count = 0, contrastive_sum = 0;
    if (epoch == state.epoch && state.step_in_epoch > 0) {  // mid-epoch resume
      first = state.step_in_epoch;
      if (root) {  // the checkpoint holds all ranks' sums; they are summed again at epoch end
        loss_sum = state.epoch_loss_sum;
        loss_count = state.epoch_loss_count;
        contrastive_sum = state.epoch_contrastive_sum;
      }
    }
    ProgressBar progress(fmt::format("epoch {}/{}", epoch + 1, tc.epochs), uint64_t(micro_batches),
                         root && options.progress);
    progress.advance(uint64_t(first));
    model->train(true);
    double lr = 0;
    for (int64_t mb = first; mb < micro_batches; ++mb) {
      const Batch batch = batches.batch(mb, batch_size);
      seed_batch_generator(seed, epoch, mb, rank);
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
          (local > 0 || several_ranks) && !(config.model.use_batch_norm && batch.global_pairs < 2);
      if (run_step) {
        AutocastScope autocast(tc.mixed_precision, device);
        ItemSide side;
        BatchDraws draws{batch_seed(seed, epoch, mb), batch.positions,
                         *config.model.item_id_dropout, *config.model.user_id_dropout};
        const torch::Tensor logits = model->forward(batch.users.to(device), batch.items.to(device),
                                                    data.features, &side, draws);
        loss = tc.bce_weight *
               torch::binary_cross_entropy_with_logits(
                   logits.to(torch::kFloat), batch.labels.to(device), {}, {}, at::Reduction::Sum) /
               global;
        reported_loss = loss.item<double>();
        if (config.model.use_contrastive && tc.contrastive_weight > 0) {
          // InfoNCE over the global batch's distinct items: the same value on every rank, each
          // rank's gradient covering its own items.
          const torch::Tensor contrastive =
              model->network()->contrastive(side, draws.seed).to(torch::kFloat);
          const double value = contrastive.item<double>();
          contrastive_sum += value * double(local);
          reported_loss += tc.contrastive_weight * value * (double(local) / global);
          loss = loss + tc.contrastive_weight * contrastive;
        }
      }
      // The step's last backward reduces gradient buckets as they become ready (async backends).
      if (mb + 1 == group_start + group_size) sync.arm_overlap();
      if (loss.defined()) {
        (loss / double(group_size)).backward();
        loss_sum += reported_loss * global;
      }
      loss_count += double(local);
      progress.advance();
      if (mb + 1 != group_start + group_size) continue;

      lr = schedule.lr(epoch, mb / accumulation, steps_per_epoch);
      // The test hook's signal arrives during step `signal_step`, before its exchange.
      if (state.global_step + 1 == signal_step) std::raise(SIGTERM);
      // Agreed on within the step's row exchange, with the caller's stop request (rank 0).
      sync.note_signal(std::max(pending_interrupt(), root ? request_code(options) : 0));
      optimizer_step(*model, *optimizer, dense_params, row_options, lr, tc.gradient_clip, &sync);
      ++state.global_step;
      if (root && options.on_progress) options.on_progress(state.global_step);
      if (state.global_step == stall_step) {
        // Logged so a test can act while this rank (and, waiting for it, every other) pauses.
        spdlog::info("test hook: rank {} pauses {} s after step {}", rank,
                     test_stall_duration().count(), stall_step);
        std::this_thread::sleep_for(test_stall_duration());
      }
      if (tensorboard && state.global_step % 50 == 0)
        tensorboard->add_scalar("train/loss_step", float(reported_loss), state.global_step);

      // Every rank stops at the same step when any rank received SIGINT/SIGTERM/SIGUSR1.
      if (const int signal = sync.agreed_signal()) {
        progress.finish();
        if (signal == kAbandonRequest) {
          spdlog::warn("abandoned at epoch {} step {} at the caller's request; nothing saved",
                       epoch + 1, mb + 1);
          result.abandoned = true;
          return result;
        }
        double sums[3] = {loss_sum, loss_count, contrastive_sum};
        comm.allreduce_sum(sums, 3);
        CheckpointState mid = state;
        mid.epoch = epoch;
        mid.step_in_epoch = mb + 1;
        mid.epoch_loss_sum = sums[0];
        mid.epoch_loss_count = sums[1];
        mid.epoch_contrastive_sum = sums[2];
        mid.scheduler = schedule.state();
        mid.early_stopping = stopper.state();
        with_full_item_table(*model, comm, [&] {
          if (!root) return;
          save_checkpoint(last_path, *model, optimizer.get(), meta, mid);
          write_sidecar(last_path, "last", mid, result.last_metrics);
        });
        if (signal == kCheckpointRequest) {
          spdlog::warn("stopped at epoch {} step {} at the caller's request: saved {}", epoch + 1,
                       mb + 1, last_path.string());
          result.stopped_by_request = true;
          result.interrupted_by = pending_interrupt();  // a signal that arrived meanwhile
        } else {
          spdlog::warn(
              "signal {} received: saved {} at epoch {} step {}; continue with "
              "`pixelrec train --run-name {} --resume last`",
              signal, last_path.string(), epoch + 1, mb + 1, run_name);
          result.interrupted_by = signal;
        }
        clear_interrupt();
        return result;
      }
    }
    progress.finish();
    const double train_seconds = seconds_since(epoch_start);
    const double resumed_examples = first > 0 && root ? state.epoch_loss_count : 0;
    double sums[4] = {loss_sum, loss_count, contrastive_sum, loss_count - resumed_examples};
    comm.allreduce_sum(sums, 4);
    loss_sum = sums[0], loss_count = sums[1], contrastive_sum = sums[2];
    const double examples = sums[3];

    // train_loss = bce_weight * BCE + contrastive_weight * InfoNCE, per example.
    std::vector<std::pair<std::string, double>> metrics{{"train_loss", loss_sum / loss_count}};
    if (config.model.use_contrastive && tc.contrastive_weight > 0)
      metrics.emplace_back("train_contrastive", contrastive_sum / loss_count);
    if (!validator.empty())
      for (auto& m : validator.run(*model, comm)) metrics.push_back(m);
    const double monitored = find_metric(metrics, tc.early_stopping_metric);
    schedule.end_epoch(epoch, monitored);
    const bool improved = stopper.update(epoch, monitored);
    metrics.emplace_back("lr", lr);
    metrics.emplace_back("epoch_seconds", seconds_since(epoch_start));
    metrics.emplace_back("train_samples_per_second", examples / std::max(train_seconds, 1e-9));
    metrics.emplace_back("skipped_negatives", double(batches.skipped_negatives()));
    if (root && options.on_progress) options.on_progress(state.global_step);
    bool stop_requested = false;
    if (options.stop_request) {  // asked before this epoch's outputs are written
      int64_t code = root ? request_code(options) : 0;
      comm.broadcast(&code, sizeof code, 0);
      if (code == kAbandonRequest) {
        spdlog::warn("abandoned after epoch {}'s validation at the caller's request; nothing saved",
                     epoch + 1);
        result.abandoned = true;
        return result;
      }
      stop_requested = code == kCheckpointRequest;
    }

    state.epoch = epoch + 1;
    state.step_in_epoch = 0;
    state.epoch_loss_sum = state.epoch_loss_count = state.epoch_contrastive_sum = 0;
    state.scheduler = schedule.state();
    state.early_stopping = stopper.state();
    state.finished = epoch + 1 >= tc.epochs || stopper.should_stop();
    result.epochs_completed = epoch + 1;
    result.last_metrics = metrics;
    if (root) {
      metrics_log->append({epoch, metrics});
      for (const auto& [name, value] : metrics)
        tensorboard->add_scalar(name, float(value), epoch + 1);
      tensorboard->flush();
    }
    with_full_item_table(*model, comm, [&] {
      if (root) save_checkpoint(last_path, *model, optimizer.get(), meta, state);
    });
    if (root) {
      write_sidecar(last_path, "last", state, metrics);
      if (improved) {
        write_file_atomic(best_path, read_file(last_path));
        write_sidecar(best_path, "best", state, metrics);
      }
      const int every = tc.checkpoint_every_epochs;
      if (every > 0 && (epoch + 1) % every == 0) {
        const fs::path snapshot = result.checkpoint_dir / fmt::format("epoch_{:04d}.pt", epoch + 1);
        write_file_atomic(snapshot, read_file(last_path));
        write_sidecar(snapshot, "epoch", state, metrics);
      }
    }
    spdlog::info("epoch {}/{}:{}{} ({:.1f} s, {:.0f} samples/s)", epoch + 1, tc.epochs,
                 format_metrics(metrics, tc.early_stopping_metric), improved ? " (best)" : "",
                 seconds_since(epoch_start), examples / std::max(train_seconds, 1e-9));
    if (stop_requested) {
      spdlog::warn("stopped after epoch {} of {} at the caller's request: saved {}", epoch + 1,
                   tc.epochs, last_path.string());
      result.stopped_by_request = true;
      break;
    }
    // A search trial's pruning decision: rank 0 asks, every rank stops at this epoch.
    if (options.on_epoch_end) {
      int64_t stop = root && options.on_epoch_end(epoch, metrics) ? 1 : 0;
      comm.broadcast(&stop, sizeof stop, 0);
      if (stop) {
        // Every rank says so (a warning, so non-root ranks print it too): they stop together.
        spdlog::warn("stopped after epoch {} of {} at the caller's request", epoch + 1, tc.epochs);
        result.stopped_by_callback = true;
        break;
      }
    }
    if (stopper.should_stop()) {
      spdlog::info("early stopping: {} has not improved for {} epochs (best {:.4f} at epoch {})",
                   tc.early_stopping_metric, tc.patience, stopper.best(), stopper.best_epoch() + 1);
      result.early_stopped = true;
    }
  }
  result.best_epoch = stopper.best_epoch();
  result.best_value = stopper.best();
  // The digest of the whole model (world-size independent): the item shards are gathered.
  if (model->items_sharded()) gather_item_table(*model, comm);
  result.parameter_digest = parameter_digest(*model);
  return result;
}

}  // namespace pixelrec::model
