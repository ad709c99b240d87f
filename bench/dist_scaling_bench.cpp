// Weak scaling of the real training step on pixelrec50k-shaped data (50,000 users, 82,865 items;
// image 165 + text 256 + numeric 7 features) at 1 and 2 ranks, one thread each, same per-rank
// batch, for the mpi and gloo communicators; and the item-feature bytes each rank holds when it
// loads its shard of a real feature store as the trainer does (load_feature_shard).
//   mpirun --allow-run-as-root --oversubscribe -np 2 bench_dist_scaling [seconds] [positives/rank]
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "core/config.h"
#include "core/errors.h"
#include "data/negative_sampler.h"
#include "distributed/communicator.h"
#include "distributed/torch/c10d_communicator.h"
#include "features/feature_store.h"
#include "model/device.h"
#include "model/gradient_sync.h"
#include "model/optimizers.h"
#include "model/recommender.h"
#include "model/training_batches.h"
#include "train/loop/trainer.h"

namespace {

using namespace pixelrec;
using namespace pixelrec::model;
namespace fs = std::filesystem;
using bench::Clock;
using bench::seconds_since;

constexpr int64_t kUsers = 50'000, kItems = 82'865, kTags = 24;
constexpr size_t kPositives = 989'494;
constexpr int kRingBatches = 16;
const std::vector<features::ModalitySpec> kModalities = {
    {"image", 165, "{}"}, {"text", 256, "{}"}, {"numeric", 7, "{}"}};

struct Data {
  std::vector<uint32_t> users, items;
  std::vector<int64_t> counts;  // training interactions per item
  std::vector<uint8_t> in_train;
};

// A pixelrec50k-shaped store with seeded random rows (1% of items without an image).
void write_store(const fs::path& path, const Data& data) {
  features::StoreHeader header;
  header.fingerprint = "bench-dist-scaling";
  for (int64_t i = 0; i < kItems; ++i) {
    header.item_ids.push_back("i" + std::to_string(i));
    header.tag_ids.push_back(int32_t(i % kTags));
  }
  for (int64_t t = 0; t < kTags; ++t) header.tag_vocab.push_back("t" + std::to_string(t));
  header.train_interactions = data.counts;
  header.modalities = kModalities;
  features::FeatureStoreWriter writer(path, header);
  constexpr uint32_t kChunk = 4096;
  for (size_t m = 0; m < kModalities.size(); ++m) {
    const int dim = kModalities[m].dim;
    for (uint32_t begin = 0; begin < uint32_t(kItems); begin += kChunk) {
      const uint32_t count = std::min<uint32_t>(kChunk, uint32_t(kItems) - begin);
      Rng rng = Rng::stream(7, {m, begin});
      std::vector<float> values(size_t(count) * size_t(dim));
      for (float& v : values) v = float(rng.uniform(-1.0, 1.0));
      std::vector<uint8_t> present(count, 1);
      for (uint32_t i = 0; i < count; ++i)
        if (m == 0 && (begin + i) % 100 == 0) present[i] = 0;
      writer.write_rows(kModalities[m].name, begin, count, values.data(), present.data());
    }
  }
  writer.commit();
}

// Bytes of item features resident in a rank after the trainer's loading: the shard as read
// (FeatureShard, kept by the trainer) and the tensors built from it (ItemFeatures).
struct FeatureBytes {
  int64_t shard = 0, tensors = 0;
  int64_t item_table = 0;  // item embeddings + their optimizer state held by the rank
};

int64_t item_table_bytes(Recommender& model) {
  int64_t bytes = 0;
  for (auto& [name, tensor] : model.item_table().state_tensors()) bytes += tensor->nbytes();
  return bytes;
}

FeatureBytes bytes_of(const features::FeatureShard& shard, const ItemFeatures& f) {
  FeatureBytes b;
  for (const auto& block : shard.modalities)
    b.shard += int64_t(block.values.size() * sizeof(float) + block.present.size());
  b.shard += int64_t(shard.tag_ids.size() * sizeof(int32_t) +
                     shard.train_interactions.size() * sizeof(int64_t));
  b.tensors = f.tag.nbytes() + f.in_train.nbytes();
  for (const auto& v : f.values) b.tensors += v.nbytes();
  for (const auto& p : f.presence) b.tensors += p.nbytes();
  return b;
}

struct Trainer {
  Config config;
  features::FeatureShard shard;
  ItemFeatures features;
  std::unique_ptr<Recommender> model;
  std::vector<torch::Tensor> dense_params;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  RowOptimizerOptions row_options;
  std::vector<Batch> ring;
};

// The trainer's model, optimizer and `kRingBatches` batches of this rank's shard, for a global
// batch of `ranks` × `per_rank` positives.
void prepare(Trainer& t, const fs::path& store, const Data& data, dist::Communicator& comm,
             int64_t per_rank) {
  std::vector<uint32_t> candidates(kItems);
  for (uint32_t i = 0; i < uint32_t(kItems); ++i) candidates[i] = i;
  const NegativeStrategy strategy =
      parse_negative_strategy(t.config.data.negative_sampling_strategy);
  // As the trainer: shards balanced on expected pairs.
  t.shard = features::load_feature_shard(
      store, comm.rank(), comm.size(),
      shard_weights(strategy, candidates, data.counts, t.config.data.negative_sampling_ratio));
  const auto inputs = content_inputs(t.config, t.shard);
  t.features = make_item_features(t.shard, inputs, data.in_train);
  NetworkSpec spec{t.config.model, uses_tags(t.config), inputs};
  torch::manual_seed(uint64_t(t.config.training.seed));
  t.model = std::make_unique<Recommender>(spec, RecommenderShape{kUsers, kItems, kTags});
  t.model->train(true);
  t.dense_params = dense_parameters(*t.model);
  t.optimizer = make_dense_optimizer(t.config.training, t.dense_params);
  t.row_options = row_optimizer_options(t.config.training);
  IndexedInteractions train;
  train.user = data.users;
  train.item = data.items;
  const NegativeSampler sampler(strategy, candidates, data.counts, UserItemIndex(kUsers, train));
  EpochBatches batches(data.users, data.items, sampler, t.config.data.negative_sampling_ratio,
                       uint64_t(t.config.training.seed), t.shard.range, 1);
  batches.start_epoch(0);
  t.ring.clear();
  for (int i = 0; i < kRingBatches; ++i) t.ring.push_back(batches.batch(i, per_rank * comm.size()));
}

// trainer.cpp's step: this rank's pairs' loss over the global pair count, backward (buckets
// reduced during it on c10d backends), then optimizer_step with gradient synchronisation, whose
// row exchange also agrees on pending signals.
// Returns this rank's samples (pairs) per second over at least `seconds`.
double run_steps(Trainer& t, dist::Communicator& comm, double seconds) {
  GradientSync sync(comm);
  sync.broadcast_parameters(*t.model);
  // As the trainer: each rank keeps its shard's item-embedding rows.
  if (comm.size() > 1) t.model->shard_items(t.shard.range.begin, t.shard.range.end);
  const std::shared_ptr<dist::TensorCollectives> batch_ranks =
      comm.size() > 1 ? dist::tensor_collectives(comm) : nullptr;
  t.model->network()->set_ranks(batch_ranks.get(), comm.rank());
  sync.register_dense(t.dense_params);
  const TrainingConfig& tc = t.config.training;
  int64_t pairs = 0, steps = 0;
  const auto step = [&] {
    const Batch& batch = t.ring[size_t(steps % kRingBatches)];
    ItemSide side;
    const BatchDraws draws{uint64_t(steps), batch.positions,
                           t.config.model.item_id_dropout.value_or(0),
                           t.config.model.user_id_dropout.value_or(0), batch.positive_rows};
    const torch::Tensor logits =
        t.model->forward(batch.users, batch.items, t.features, &side, draws);
    torch::Tensor loss =
        tc.bce_weight *
        torch::binary_cross_entropy_with_logits(logits, batch.labels, {}, {}, at::Reduction::Sum) /
        double(batch.global_pairs);
    if (t.config.model.use_contrastive && tc.contrastive_weight > 0)
      loss = loss + tc.contrastive_weight * t.model->network()->contrastive(side, draws.seed);
    sync.arm_overlap();
    loss.backward();
    sync.note_signal(0);
    optimizer_step(*t.model, *t.optimizer, t.dense_params, t.row_options, tc.learning_rate,
                   tc.gradient_clip, &sync);
    sync.agreed_signal();
    ++steps;
    return batch.users.size(0);
  };
  for (int i = 0; i < 4; ++i) step();
  comm.barrier();
  steps = 0;
  const auto start = Clock::now();
  // Every rank makes the same number of steps: rank 0 decides when the time is up.
  for (int64_t go = 1; go;) {
    pairs += step();
    go = comm.is_root() && seconds_since(start) < seconds ? 1 : 0;
    comm.broadcast(&go, sizeof go, 0);
  }
  return double(pairs) / seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
    const int64_t per_rank = argc > 2 ? std::atoll(argv[2]) : 1024;
    if (!(seconds > 0) || per_rank < 1) {
      std::fprintf(stderr,
                   "usage: bench_dist_scaling [seconds, default 10] [positives per rank "
                   "per step, default 1024]\n");
      return 2;
    }
    const dist::LaunchEnv env = dist::detect_launch_env(dist::process_environment());
    if (env.source != "openmpi" || env.world_size != 2)
      throw Error("run under mpirun -np 2 (1-rank and 2-rank figures come from one job)");
    auto mpi = dist::make_mpi_communicator();
    // Long timeout: rank 1 idles in a Gloo barrier (blocking, no busy polling, unlike MPI's)
    // while rank 0 measures alone.
    auto gloo = make_c10d_communicator(env, "gloo", std::chrono::minutes(10));
    auto single = dist::make_single_process_communicator();
    set_compute_threads(1);
    const bool root = mpi->is_root();

    Data data;
    bench::make_skewed_positives(kUsers, kItems, kPositives, data.users, data.items);
    data.counts.assign(size_t(kItems), 0);
    for (uint32_t item : data.items) ++data.counts[item];
    data.in_train.assign(size_t(kItems), 1);
    const fs::path store = fs::temp_directory_path() / "pixelrec_bench_dist_scaling.h5";
    if (root) write_store(store, data);
    mpi->barrier();

    double one = 0;
    FeatureBytes one_bytes;
    if (root) {
      Trainer t;
      prepare(t, store, data, *single, per_rank);
      one_bytes = bytes_of(t.shard, t.features);
      one = run_steps(t, *single, seconds);
      one_bytes.item_table = item_table_bytes(*t.model);
    }
    gloo->barrier();  // rank 1 waits here, idle, while rank 0 measures one rank
    if (root)
      std::printf(
          "load %.2f; 1 thread per rank, %lld positives per rank per step (global batch = ranks x "
          "that)\n1 rank        : %8.0f samples/s\n",
          bench::load_average(), (long long)per_rank, one);
    FeatureBytes two_bytes;
    for (dist::Communicator* comm : {mpi.get(), gloo.get()}) {
      Trainer t;
      prepare(t, store, data, *comm, per_rank);
      two_bytes = bytes_of(t.shard, t.features);
      double rate = run_steps(t, *comm, seconds);
      two_bytes.item_table = item_table_bytes(*t.model);
      std::vector<double> rates(2);
      mpi->allgather(&rate, sizeof rate, rates.data());
      if (root)
        std::printf(
            "2 ranks %-5s: %8.0f + %8.0f samples/s per rank, total %8.0f, efficiency %.1f%%\n",
            comm->backend().c_str(), rates[0], rates[1], rates[0] + rates[1],
            100.0 * (rates[0] + rates[1]) / (2.0 * one));
    }
    std::vector<FeatureBytes> all(2);
    mpi->allgather(&two_bytes, sizeof two_bytes, all.data());
    if (root) {
      const auto mib = [](int64_t b) { return double(b) / double(1 << 20); };
      std::printf(
          "item-feature bytes per rank (shard as read + tensors built from it):\n"
          "  1 rank : %.1f + %.1f = %.1f MiB\n",
          mib(one_bytes.shard), mib(one_bytes.tensors), mib(one_bytes.shard + one_bytes.tensors));
      for (int r = 0; r < 2; ++r)
        std::printf("  2 ranks, rank %d: %.1f + %.1f = %.1f MiB\n", r, mib(all[size_t(r)].shard),
                    mib(all[size_t(r)].tensors),
                    mib(all[size_t(r)].shard + all[size_t(r)].tensors));
      std::printf("item-embedding table with optimizer state per rank:\n  1 rank : %.2f MiB\n",
                  mib(one_bytes.item_table));
      for (int r = 0; r < 2; ++r)
        std::printf("  2 ranks, rank %d: %.2f MiB\n", r, mib(all[size_t(r)].item_table));
      fs::remove(store);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dist_scaling: %s\n", e.what());
    return 1;
  }
}
