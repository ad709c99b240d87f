// Item-sharded embedding tables: two Gloo ranks, each holding only its item shard's rows, make
// exactly the one-process optimizer steps (clipping by the global norm and the shared unknown-item
// row included), and gathering the shards restores the whole table on every rank.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <mutex>

#include "model/gradient_sync.h"
#include "model/item_table_shards.h"
#include "model/optimizers.h"
#include "model_gloo_ranks.h"
#include "model_test_support.h"

namespace pixelrec::model {
namespace {

using model_test::slice;
using model_test::tiny_features;
using model_test::tiny_shape;
using model_test::tiny_spec;

constexpr int kSteps = 3;
constexpr int64_t kBatch = 48;

struct Batches {
  std::array<torch::Tensor, kSteps> users, items, labels;
};

Batches make_batches() {
  torch::manual_seed(11);
  Batches b;
  for (int s = 0; s < kSteps; ++s) {
    b.users[s] = torch::randint(0, 10, {kBatch}, torch::kLong);
    b.items[s] = torch::randint(0, 12, {kBatch}, torch::kLong);
    b.labels[s] = torch::randint(0, 2, {kBatch}).to(torch::kFloat);
  }
  return b;
}

// Items 2 and 10, 11 are cold: both shards use the replicated unknown-item row.
ItemFeatures features_with_cold_items() {
  ItemFeatures f = tiny_features();
  f.in_train[2] = false;
  return f;
}

// kSteps adamw steps on the pairs whose item lies in [begin, end) (all pairs for one process),
// the loss normalised by the whole batch; clip 0.05 so that clipping always scales.
void train_steps(Recommender& model, const ItemFeatures& features, const Batches& b,
                 GradientSync* sync) {
  TrainingConfig tc;
  tc.optimizer_type = "adamw";
  tc.weight_decay = 0.01;
  const auto params = dense_parameters(model);
  auto optimizer = make_dense_optimizer(tc, params);
  for (int s = 0; s < kSteps; ++s) {
    const torch::Tensor mine =
        b.items[s].ge(features.first_item) & b.items[s].lt(features.first_item + features.count);
    const torch::Tensor logits =
        model.forward(b.users[s].masked_select(mine), b.items[s].masked_select(mine), features);
    (torch::binary_cross_entropy_with_logits(logits, b.labels[s].masked_select(mine), {}, {},
                                             at::Reduction::Sum) /
     double(kBatch))
        .backward();
    optimizer_step(model, *optimizer, params, row_optimizer_options(tc), 1e-2, 0.05, sync);
  }
}

TEST(ItemShards, TwoShardedRanksMakeTheOneProcessStepsAndGatherTheWholeTable) {
  const NetworkSpec spec = tiny_spec("concat", /*batch_norm=*/false, /*contrastive=*/false);
  const ItemFeatures features = features_with_cold_items();
  const Batches batches = make_batches();
  torch::manual_seed(5);
  Recommender single(spec, tiny_shape());
  train_steps(single, features, batches, nullptr);

  const std::array<std::pair<int64_t, int64_t>, 2> shards{{{0, 5}, {5, 12}}};
  // Built here, not in the rank threads: they would share torch's global generator.
  std::array<std::unique_ptr<Recommender>, 2> models;
  for (auto& m : models) {
    torch::manual_seed(5);
    m = std::make_unique<Recommender>(spec, tiny_shape());
  }
  std::mutex mutex;
  std::array<int64_t, 2> shard_rows{};
  std::array<std::vector<torch::Tensor>, 2> gathered;
  std::array<std::vector<torch::Tensor>, 2> dense;
  const auto errors = run_ranks(2, std::chrono::seconds(60), [&](dist::Communicator& comm) {
    const auto [begin, end] = shards[size_t(comm.rank())];
    Recommender& model = *models[size_t(comm.rank())];
    GradientSync sync(comm);
    sync.broadcast_parameters(model);
    model.shard_items(begin, end);
    const ItemFeatures shard = slice(features, begin, end);
    train_steps(model, shard, batches, &sync);
    const int64_t rows = model.item_table().rows();
    gather_item_table(model, comm);
    std::lock_guard lock(mutex);
    shard_rows[size_t(comm.rank())] = rows;
    for (auto& [name, tensor] : model.item_table().state_tensors())
      gathered[size_t(comm.rank())].push_back(tensor->clone());
    for (const auto& p : model.network()->parameters())
      dense[size_t(comm.rank())].push_back(p.detach().clone());
  });
  ASSERT_EQ(errors, std::vector<std::string>(2, ""));
  EXPECT_EQ(shard_rows[0], 5 + 1);  // the shard's rows + the unknown row
  EXPECT_EQ(shard_rows[1], 7 + 1);
  auto expected = single.item_table().state_tensors();
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_EQ(gathered[size_t(rank)].size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE(expected[i].first + " on rank " + std::to_string(rank));
      const torch::Tensor& got = gathered[size_t(rank)][i];
      ASSERT_EQ(got.sizes(), expected[i].second->sizes());
      EXPECT_LT((got.to(torch::kDouble) - expected[i].second->to(torch::kDouble))
                    .abs()
                    .max()
                    .item<double>(),
                1e-6);
    }
    const auto params = single.network()->parameters();
    for (size_t p = 0; p < params.size(); ++p)
      EXPECT_LT((dense[size_t(rank)][p] - params[p]).abs().max().item<double>(), 1e-6);
  }
  // Every item row and the unknown row were updated (rows 2, 10, 11 only through the unknown row).
  const torch::Tensor steps = *expected[3].second;
  EXPECT_EQ(steps[2].item<int64_t>(), 0);
  EXPECT_GT(steps[12].item<int64_t>(), 0);
}

TEST(ItemShards, AnEmptyShardGathersAndReshards) {
  const NetworkSpec spec = tiny_spec("gated", /*batch_norm=*/false, /*contrastive=*/false);
  torch::manual_seed(9);
  Recommender reference(spec, tiny_shape());
  const torch::Tensor expected = reference.item_table().weight().clone();
  std::array<torch::Tensor, 2> after;
  std::array<int64_t, 2> resharded_rows{};
  std::array<std::unique_ptr<Recommender>, 2> models;
  for (auto& m : models) {
    torch::manual_seed(9);
    m = std::make_unique<Recommender>(spec, tiny_shape());
  }
  const auto errors = run_ranks(2, std::chrono::seconds(60), [&](dist::Communicator& comm) {
    Recommender& model = *models[size_t(comm.rank())];
    const bool first = comm.rank() == 0;
    model.shard_items(0, first ? 0 : 12);  // rank 0 holds no item rows
    with_full_item_table(model, comm,
                         [&] { after[size_t(comm.rank())] = model.item_table().weight().clone(); });
    resharded_rows[size_t(comm.rank())] = model.item_table().rows();
  });
  ASSERT_EQ(errors, std::vector<std::string>(2, ""));
  for (const auto& t : after) EXPECT_TRUE(torch::equal(t, expected));
  EXPECT_EQ(resharded_rows[0], 1);
  EXPECT_EQ(resharded_rows[1], 13);
}

}  // namespace
}  // namespace pixelrec::model
