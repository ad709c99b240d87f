// Training throughput of the default multimodal model on pixelrec50k-shaped data (50,000 users,
// 82,865 items; image 165 + text 256 + numeric 7 features): the trainer's real step in samples/s
// and GFLOP/s next to torch::matmul rates measured in the same run, per thread count and batch.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "bench_support.h"
#include "core/config.h"
#include "core/errors.h"
#include "core/rng.h"
#include "data/negative_sampler.h"
#include "model/device.h"
#include "model/optimizers.h"
#include "model/recommender.h"
#include "model/training_batches.h"
#include "train/loop/trainer.h"

namespace {

using pixelrec::bench::Clock;
using pixelrec::bench::load_average;
using pixelrec::bench::matmul_gflops;
using pixelrec::bench::seconds_since;
using namespace pixelrec;
using namespace pixelrec::model;

constexpr int64_t kUsers = 50'000, kItems = 82'865, kTags = 24;
constexpr size_t kPositives = 989'494;
constexpr int kRingBatches = 32;  // pre-built batches cycled through by the step-only runs

// pixelrec50k-shaped features; 1% of items without an image (as in the synthetic data's faulty
// images), which the contrastive loss then leaves out.
ItemFeatures make_features(const std::vector<ContentInput>& inputs) {
  ItemFeatures f = bench::make_features(inputs, kItems, kTags, 1);
  for (int64_t i = 0; i < kItems; i += 100) {
    f.values[0][i].zero_();
    f.presence[0][i] = 0.0f;
  }
  return f;
}

// Positives with popularity-skewed items (density ~ x^-0.5 over the catalogue).
void make_positives(std::vector<uint32_t>& users, std::vector<uint32_t>& items) {
  Rng rng = Rng::stream(1, {0x504F53ull /* "POS" */});
  users.resize(kPositives);
  items.resize(kPositives);
  for (size_t p = 0; p < kPositives; ++p) {
    users[p] = uint32_t(rng.below(kUsers));
    const double u = rng.uniform();
    items[p] = uint32_t(double(kItems) * u * u);
  }
}

struct Setup {
  Config config;
  NetworkSpec spec;
  ItemFeatures features;
  std::unique_ptr<Recommender> model;
  std::vector<torch::Tensor> dense_params;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  RowOptimizerOptions row_options;
};

// Time of each phase of a step, summed over steps.
struct PhaseTimes {
  double batch = 0, forward = 0, backward = 0, optimizer = 0;
  double total() const { return batch + forward + backward + optimizer; }
};

// trainer.cpp's step without gradient accumulation or autocast (both off by default);
// `contrastive` false drops the contrastive term (to measure its cost).
void train_step(Setup& s, const Batch& batch, bool contrastive, PhaseTimes& times) {
  const TrainingConfig& tc = s.config.training;
  auto t0 = Clock::now();
  ItemSide side;
  const torch::Tensor logits =
      s.model->forward(batch.users, batch.items, s.features, &side,
                       BatchDraws{0, batch.positions, s.config.model.item_id_dropout.value_or(0),
                                  s.config.model.user_id_dropout.value_or(0), batch.positive_rows});
  // The mean equals the trainer's sum / global_pairs in a single process.
  torch::Tensor loss =
      tc.bce_weight * torch::binary_cross_entropy_with_logits(logits, batch.labels);
  if (contrastive && s.config.model.use_contrastive && tc.contrastive_weight > 0)
    loss = loss + tc.contrastive_weight * s.model->network()->contrastive(side);
  auto t1 = Clock::now();
  loss.backward();
  if (!std::isfinite(loss.item<double>())) throw Error("training diverged (loss is not finite)");
  auto t2 = Clock::now();
  optimizer_step(*s.model, *s.optimizer, s.dense_params, s.row_options, tc.learning_rate,
                 tc.gradient_clip);
  auto t3 = Clock::now();
  times.forward += std::chrono::duration<double>(t1 - t0).count();
  times.backward += std::chrono::duration<double>(t2 - t1).count();
  times.optimizer += std::chrono::duration<double>(t3 - t2).count();
}

// Forward FLOPs of a step (matmuls only, 2·m·n·k each) for the factorized concat model: per pair
// the user part of the first layer and the rest of the head, per distinct item its projections
// and item part, and the contrastive logits over items with both image and text.
double forward_flops(const NetworkSpec& spec, double pairs, double distinct, double contrastive) {
  const double d = spec.config.embedding_dim;
  const auto& h = spec.config.fusion_hidden_dims;
  double per_item = 2.0 * double(spec.item_token_count()) * d * h[0];
  for (const auto& c : spec.content) per_item += 2.0 * double(c.dim) * d;
  double per_pair = 2.0 * d * h[0] + 2.0 * h.back();
  for (size_t i = 0; i + 1 < h.size(); ++i) per_pair += 2.0 * h[i] * h[i + 1];
  return pairs * per_pair + distinct * per_item + 2.0 * contrastive * contrastive * d;
}

// Average shape of the ring's batches: pairs, distinct items, items with image and text.
struct BatchShape {
  double pairs = 0, distinct = 0, contrastive = 0;
};

BatchShape measure_shape(const std::vector<Batch>& ring, const ItemFeatures& f) {
  BatchShape s;
  for (const Batch& b : ring) {
    const torch::Tensor distinct = std::get<0>(torch::_unique(b.items));
    const torch::Tensor both =
        f.presence[0].index_select(0, distinct) * f.presence[1].index_select(0, distinct);
    s.pairs += double(b.users.size(0));
    s.distinct += double(distinct.size(0));
    // The network caps InfoNCE at 512 items per step (network.cpp, kMaxContrastiveItems).
    s.contrastive += std::min(512.0, both.sum().item<double>());
  }
  const double n = double(ring.size());
  return {s.pairs / n, s.distinct / n, s.contrastive / n};
}

struct RunResult {
  double samples_per_second = 0;
  PhaseTimes times;
  int64_t steps = 0;
};

// Steps for at least `seconds` after `warmup` steps; with `ring` the batches are pre-built,
// otherwise each step also cuts its batch from `batches` (EpochBatches::batch).
RunResult run_steps(Setup& s, const std::vector<Batch>* ring, const EpochBatches& batches,
                    int64_t positives, double seconds, int warmup, bool contrastive = true) {
  RunResult r;
  const int64_t count = batches.count(positives);
  int64_t next = 0, samples = 0;
  const auto step = [&](PhaseTimes& times) {
    const auto t0 = Clock::now();
    const Batch fresh = ring ? Batch() : batches.batch(next % count, positives);
    times.batch += seconds_since(t0);
    const Batch& batch = ring ? (*ring)[size_t(next % int64_t(ring->size()))] : fresh;
    train_step(s, batch, contrastive, times);
    ++next;
    return batch.users.size(0);
  };
  PhaseTimes ignored;
  for (int i = 0; i < warmup; ++i) step(ignored);
  const auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    samples += step(r.times);
    ++r.steps;
  }
  r.samples_per_second = double(samples) / seconds_since(start);
  return r;
}

// Self CPU time per operator (inclusive time minus nested operators) from the legacy profiler.
std::vector<std::pair<double, std::string>> self_times(
    const torch::autograd::profiler::thread_event_lists& lists) {
  using torch::autograd::profiler::EventKind;
  using torch::autograd::profiler::LegacyEvent;
  std::map<std::string, double> self;
  for (const auto& list : lists) {
    struct Open {
      const LegacyEvent* push;
      double children;
    };
    std::vector<Open> open;
    for (const auto& e : list) {
      if (e.kind() == EventKind::PushRange) {
        open.push_back({&e, 0.0});
      } else if (e.kind() == EventKind::PopRange && !open.empty()) {
        const Open o = open.back();
        open.pop_back();
        const double inclusive = o.push->cpuElapsedUs(e);
        self[o.push->name()] += inclusive - o.children;
        if (!open.empty()) open.back().children += inclusive;
      }
    }
  }
  std::vector<std::pair<double, std::string>> sorted;
  for (const auto& [name, us] : self) sorted.emplace_back(us, name);
  std::sort(sorted.rbegin(), sorted.rend());
  return sorted;
}

// The optimizer step's parts timed separately (optimizer_step's body, in its order), then the
// operators with the most self time over `steps` steps.
void profile(Setup& s, const std::vector<Batch>& ring, int steps) {
  double norm = 0, dense = 0, sparse = 0, zero = 0;
  PhaseTimes phases;
  const TrainingConfig& tc = s.config.training;
  namespace prof = torch::autograd::profiler;
  prof::enableProfilerLegacy(
      torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  const auto start = Clock::now();
  for (int i = 0; i < steps; ++i) {
    const Batch& batch = ring[size_t(i) % ring.size()];
    auto t0 = Clock::now();
    ItemSide side;
    const torch::Tensor logits = s.model->forward(batch.users, batch.items, s.features, &side);
    const torch::Tensor loss = torch::binary_cross_entropy_with_logits(logits, batch.labels) +
                               tc.contrastive_weight * s.model->network()->contrastive(side);
    auto t1 = Clock::now();
    loss.backward();
    auto t2 = Clock::now();
    set_learning_rate(*s.optimizer, tc.learning_rate);
    std::vector<RowGradient> rows;
    for (auto* table : s.model->tables()) rows.push_back(table->gradient());
    const double scale = clip_gradients(s.dense_params, rows, tc.gradient_clip);
    auto t3 = Clock::now();
    s.optimizer->step();
    auto t4 = Clock::now();
    for (size_t t = 0; t < rows.size(); ++t)
      s.model->tables()[t]->step(rows[t], s.row_options, tc.learning_rate, scale);
    auto t5 = Clock::now();
    s.optimizer->zero_grad();
    for (auto* table : s.model->tables()) table->zero_grad();
    auto t6 = Clock::now();
    const auto sec = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double>(b - a).count();
    };
    phases.forward += sec(t0, t1);
    phases.backward += sec(t1, t2);
    norm += sec(t2, t3);
    dense += sec(t3, t4);
    sparse += sec(t4, t5);
    zero += sec(t5, t6);
  }
  const double wall = seconds_since(start);
  const auto events = prof::disableProfilerLegacy();
  const double ms = 1e3 / steps;
  std::printf(
      "profile (%d thread(s), %d steps, profiler on, %.2f ms/step): forward %.2f, backward %.2f, "
      "grad norm + "
      "clip %.2f, dense adamw %.2f, sparse rows %.2f, zero_grad %.2f ms/step\n",
      at::get_num_threads(), steps, wall * ms, phases.forward * ms, phases.backward * ms, norm * ms,
      dense * ms, sparse * ms, zero * ms);
  const auto ops = self_times(events);
  std::printf("top operators by self CPU time (ms/step):\n");
  for (size_t i = 0; i < std::min<size_t>(14, ops.size()); ++i)
    std::printf("  %7.3f  %s\n", ops[i].first / 1e3 / steps, ops[i].second.c_str());
}

}  // namespace

int run(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
  std::vector<int> thread_counts;
  for (int a = 2; a < argc; ++a) thread_counts.push_back(std::atoi(argv[a]));
  if (thread_counts.empty()) thread_counts = {1, 2};
  const bool valid_threads = std::all_of(thread_counts.begin(), thread_counts.end(),
                                         [](int t) { return t >= 1 && t <= 64; });
  if (!(seconds > 0) || !valid_threads) {
    std::fprintf(stderr,
                 "usage: bench_train [seconds per measurement, default 10] [thread counts 1..64, "
                 "default 1 2]\n");
    return 2;
  }
  Setup s;
  s.spec = {s.config.model, uses_tags(s.config), {{"image", 165}, {"text", 256}, {"numeric", 7}}};
  if (s.spec.config.fusion_type != "concat" || s.spec.config.projection_hidden_dim)
    throw Error("the FLOP count assumes the default model (concat, no projection hidden layer)");
  s.features = make_features(s.spec.content);
  torch::manual_seed(uint64_t(s.config.training.seed));
  s.model = std::make_unique<Recommender>(s.spec, RecommenderShape{kUsers, kItems, kTags});
  s.model->train(true);
  s.dense_params = dense_parameters(*s.model);
  s.optimizer = make_dense_optimizer(s.config.training, s.dense_params);
  s.row_options = row_optimizer_options(s.config.training);

  std::vector<uint32_t> users, items;
  make_positives(users, items);
  IndexedInteractions train;
  train.user = users;
  train.item = items;
  std::vector<int64_t> counts(kItems, 0);
  for (uint32_t item : items) ++counts[item];
  std::vector<uint32_t> candidates(kItems);
  for (uint32_t i = 0; i < kItems; ++i) candidates[i] = i;
  const NegativeSampler sampler(parse_negative_strategy(s.config.data.negative_sampling_strategy),
                                candidates, counts, UserItemIndex(kUsers, train));
  std::printf(
      "default model: D %d, head [%d, %d, %d], %s fusion, batch norm %d, dropout %.1f, "
      "contrastive %.1f, %s; %lld users, %lld items, %zu positives, %.0f negative(s) each\n",
      s.config.model.embedding_dim, s.config.model.fusion_hidden_dims[0],
      s.config.model.fusion_hidden_dims[1], s.config.model.fusion_hidden_dims[2],
      s.config.model.fusion_type.c_str(), int(s.config.model.use_batch_norm),
      s.config.model.dropout_rate, s.config.training.contrastive_weight,
      s.config.training.optimizer_type.c_str(), (long long)kUsers, (long long)kItems, kPositives,
      s.config.data.negative_sampling_ratio);

  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress stays visible when piped
  for (int threads : thread_counts) {
    set_compute_threads(threads);
    EpochBatches batches(users, items, sampler, s.config.data.negative_sampling_ratio,
                         uint64_t(s.config.training.seed), features::ItemRange{0, kItems}, threads);
    auto t0 = Clock::now();
    batches.start_epoch(0);
    std::printf(
        "\n== %d thread(s), load average %.2f: EpochBatches::start_epoch (shuffle "
        "%zu positives, draw their negatives) %.3f s\n",
        threads, load_average(), batches.positives(), seconds_since(t0));
    const double mm_peak = matmul_gflops(1024, 1024, 1024);
    std::printf("matmul 1024^3: %.1f GFLOP/s\n", mm_peak);
    for (int64_t positives : {256, 1024, 4096}) {
      std::vector<Batch> ring;
      for (int i = 0; i < kRingBatches; ++i) ring.push_back(batches.batch(i, positives));
      const BatchShape shape = measure_shape(ring, s.features);
      const double mm_head = matmul_gflops(int64_t(shape.pairs), 512, 256);
      const double flops =
          3.0 * forward_flops(s.spec, shape.pairs, shape.distinct, shape.contrastive);
      const double flops_plain = 3.0 * forward_flops(s.spec, shape.pairs, shape.distinct, 0);
      const int warmup = int(std::max<int64_t>(2, 8192 / positives));
      const RunResult only = run_steps(s, &ring, batches, positives, seconds, warmup);
      const RunResult with = run_steps(s, nullptr, batches, positives, seconds, warmup);
      const RunResult plain = run_steps(s, &ring, batches, positives, seconds, warmup, false);
      const double gflops = only.samples_per_second * flops / shape.pairs / 1e9;
      const double gflops_plain = plain.samples_per_second * flops_plain / shape.pairs / 1e9;
      const double ms = 1e3 / double(only.steps);
      std::printf(
          "batch %lld positives (%.0f pairs, %.0f distinct items), %.2f MFLOP/sample, matmul "
          "[%.0f,512]x[512,256] %.1f GFLOP/s, load %.2f\n"
          "  step only          %7.0f samples/s  %5.1f GFLOP/s = %.2f of that matmul, %.2f of "
          "1024^3 (ms/step: forward+loss %.2f, backward %.2f, optimizer_step %.2f)\n"
          "  step + batch()     %7.0f samples/s  (batch() %.3f ms/step)\n"
          "  no contrastive     %7.0f samples/s  %5.1f GFLOP/s (%.2f MFLOP/sample)\n",
          (long long)positives, shape.pairs, shape.distinct, flops / shape.pairs / 1e6, shape.pairs,
          mm_head, load_average(), only.samples_per_second, gflops, gflops / mm_head,
          gflops / mm_peak, only.times.forward * ms, only.times.backward * ms,
          only.times.optimizer * ms, with.samples_per_second,
          with.times.batch * 1e3 / double(with.steps), plain.samples_per_second, gflops_plain,
          flops_plain / shape.pairs / 1e6);
      if (positives == 256) profile(s, ring, 100);
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 1;
  }
}
