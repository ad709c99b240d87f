// Ranking and evaluation cost on pixelrec50k-shaped data (50,000 users, 82,865 items): the
// default model's ModelScorer::score_block over the whole catalogue (pairs/s, GFLOP/s against a
// head-shaped torch::matmul in the same run), the ItemKNN fit, and a sampled evaluation with
// 1,000 negatives per user (measured on a share of the users, extrapolated to all 50,000).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_support.h"
#include "core/config.h"
#include "core/errors.h"
#include "core/rng.h"
#include "data/split_data.h"
#include "distributed/communicator.h"
#include "eval/baselines.h"
#include "eval/evaluator.h"
#include "model/device.h"
#include "model/model_scorer.h"
#include "model/recommender.h"
#include "train/loop/trainer.h"

namespace {

using pixelrec::bench::Clock;
using pixelrec::bench::matmul_gflops;
using pixelrec::bench::seconds_since;
using namespace pixelrec;
using namespace pixelrec::model;

constexpr uint32_t kUsers = 50'000, kItems = 82'865;
constexpr int64_t kTags = 24, kBlockUsers = 256;
constexpr int kThreads = 2;

// Users "0".."49999" with 5-39 distinct popularity-skewed items each (density ~ x^-0.5 over the
// catalogue), in random order; the last item of each user is test, the one before val, the rest
// train (~1.0 M training interactions).
SplitData make_split() {
  SplitData split;
  std::vector<std::string> ids;
  for (uint32_t u = 0; u < kUsers; ++u) ids.push_back(std::to_string(u));
  split.user_map = IdMap::from_ids(ids);
  ids.clear();
  for (uint32_t i = 0; i < kItems; ++i) ids.push_back(std::to_string(i));
  split.item_map = IdMap::from_ids(std::move(ids));
  split.directory = "synthetic-50k";
  std::vector<uint32_t> items;
  for (uint32_t u = 0; u < kUsers; ++u) {
    Rng rng = Rng::stream(2, {0x53504C4954ull /* "SPLIT" */, u});
    const size_t n = 5 + size_t(rng.below(35));
    items.clear();
    while (items.size() < n) {
      const double x = rng.uniform();
      const uint32_t item = uint32_t(double(kItems) * x * x);
      if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
    }
    for (size_t k = 0; k < n; ++k) {
      IndexedInteractions& part = k + 1 == n ? split.test : k + 2 == n ? split.val : split.train;
      part.user.push_back(u);
      part.item.push_back(items[k]);
      part.timestamp.push_back(int64_t(k));
    }
  }
  split.item_in_train.assign(kItems, 0);
  for (uint32_t item : split.train.item) split.item_in_train[item] = 1;
  return split;
}

// FLOPs per scored pair with the factorized first layer: the add of the user and item parts,
// then the rest of the head (2 FLOPs per multiply-add).
double flops_per_block_pair(const ModelConfig& c) {
  const auto& h = c.fusion_hidden_dims;
  double flops = double(h[0]) + 2.0 * h.back();
  for (size_t i = 0; i + 1 < h.size(); ++i) flops += 2.0 * h[i] * h[i + 1];
  return flops;
}

int run(int argc, char** argv) {
  const long eval_users = argc > 1 ? std::atol(argv[1]) : 5'000;
  const long block_items = argc > 2 ? std::atol(argv[2]) : long(kItems);
  if (eval_users < 1 || eval_users > long(kUsers) || block_items < 1 ||
      block_items > long(kItems)) {
    std::fprintf(stderr,
                 "usage: bench_ranking [eval users 1..50000, default 5000] "
                 "[items per score_block 1..82865, default all]\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress stays visible when piped
  set_compute_threads(kThreads);
  const Config config;
  const NetworkSpec spec{
      config.model, uses_tags(config), {{"image", 165}, {"text", 256}, {"numeric", 7}}};
  const ItemFeatures features = bench::make_features(spec.content, kItems, kTags, 2);
  torch::manual_seed(uint64_t(config.training.seed));
  Recommender model(spec, RecommenderShape{kUsers, kItems, kTags});
  if (!model.network()->factorized()) throw Error("the default model should use concat fusion");
  model::ModelScorer scorer(model, features);

  const auto& h = config.model.fusion_hidden_dims;
  const double mm_head = matmul_gflops(1 << 16, h[0], h[1]);
  const double mm_peak = matmul_gflops(1024, 1024, 1024);
  std::printf("%d threads: matmul [65536,%d]x[%d,%d] %.1f GFLOP/s, 1024^3 %.1f GFLOP/s\n", kThreads,
              h[0], h[0], h[1], mm_head, mm_peak);

  // The first call builds the item-part cache for the whole catalogue.
  std::vector<uint32_t> users(kBlockUsers), items(kItems);
  for (uint32_t i = 0; i < kItems; ++i) items[i] = i;
  for (int64_t u = 0; u < kBlockUsers; ++u) users[size_t(u)] = uint32_t(u * 193 % kUsers);
  std::vector<float> scores(size_t(kBlockUsers) * size_t(block_items));
  auto t0 = Clock::now();
  scorer.score_block(users.data(), 1, items.data(), 1, scores.data());
  std::printf("item-part cache, %u items: %.2f s\n", kItems, seconds_since(t0));

  t0 = Clock::now();
  scorer.score_block(users.data(), size_t(kBlockUsers), items.data(), size_t(block_items),
                     scores.data());
  const double block_s = seconds_since(t0);
  const double pairs = double(kBlockUsers) * double(block_items);
  const double pair_flops = flops_per_block_pair(config.model);
  const double gflops = pairs * pair_flops / block_s / 1e9;
  size_t non_finite = 0;
  for (float v : scores) non_finite += std::isfinite(v) ? 0 : 1;
  if (non_finite) throw Error(std::to_string(non_finite) + " scores of the block are not finite");
  std::printf(
      "score_block %lld users x %ld items: %.2f s, %.3g pairs/s, %.0f FLOP/pair, %.1f GFLOP/s = "
      "%.2f of the head-shaped matmul, %.2f of 1024^3; full ranking of %u users: %.0f s\n",
      (long long)kBlockUsers, block_items, block_s, pairs / block_s, pair_flops, gflops,
      gflops / mm_head, gflops / mm_peak, kUsers,
      double(kUsers) * double(kItems) / (pairs / block_s));

  t0 = Clock::now();
  const SplitData split = make_split();
  std::printf("\nsynthetic split: %u users, %u items, %zu train / %zu val / %zu test (%.1f s)\n",
              kUsers, kItems, split.train.size(), split.val.size(), split.test.size(),
              seconds_since(t0));
  const UserItemIndex train(split.num_users(), split.train);
  eval::BaselineInputs inputs;
  inputs.split = &split;
  inputs.train = &train;
  inputs.threads = kThreads;
  inputs.knn_neighbors = config.evaluation.knn_neighbors;
  inputs.knn_shrinkage = config.evaluation.knn_shrinkage;
  t0 = Clock::now();
  const auto itemknn = eval::make_baseline("itemknn", inputs);
  const auto& knn = dynamic_cast<const eval::ItemKnnScorer&>(*itemknn).neighbours();
  std::printf("ItemKNN fit (k %d, shrinkage %.0f, %d threads): %.2f s, %zu neighbour entries\n",
              inputs.knn_neighbors, inputs.knn_shrinkage, kThreads, seconds_since(t0),
              knn.index.size());

  // Sampled evaluation on every (50,000 / eval_users)-th user's test item.
  SplitData share = split;
  const uint32_t stride = uint32_t(std::max<long>(1, long(kUsers) / eval_users));
  share.test = {};
  for (size_t r = 0; r < split.test.size(); ++r) {
    if (split.test.user[r] % stride != 0) continue;
    share.test.user.push_back(split.test.user[r]);
    share.test.item.push_back(split.test.item[r]);
    share.test.timestamp.push_back(split.test.timestamp[r]);
  }
  t0 = Clock::now();
  const eval::EvalContext context = eval::make_eval_context(share, nullptr);
  const double context_s = seconds_since(t0);
  eval::EvalOptions options;
  options.task = eval::EvalTask::kSampled;
  options.num_negatives = 1000;
  options.threads = kThreads;
  const auto comm = dist::make_single_process_communicator();
  const eval::EvalResult result = eval::evaluate(scorer, context, options, *comm);
  // score_pairs recomputes the user part of the first layer for every pair.
  const double sampled_flops = pair_flops + 2.0 * config.model.embedding_dim * h[0];
  const double sampled_gflops = result.pairs_scored * sampled_flops / result.seconds_scoring / 1e9;
  const double users_done = double(result.users.size());
  const double scale = double(kUsers) / users_done;
  std::printf(
      "sampled evaluation, 1,000 negatives, %zu users: context %.2f s, %.2f s total (scoring "
      "%.2f s, %.3g pairs/s, %.0f FLOP/pair, %.1f GFLOP/s = %.2f of the head-shaped matmul), "
      "hit_rate@10 %.4f (random model: ~10/1001 = 0.0100)\n"
      "  extrapolated to %u users: %.0f s total (target < 300 s)\n",
      result.users.size(), context_s, result.seconds_total, result.seconds_scoring,
      result.pairs_scored / result.seconds_scoring, sampled_flops, sampled_gflops,
      sampled_gflops / mm_head, result.metric("hit_rate@10"), kUsers,
      context_s + result.seconds_total * scale);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ranking: %s\n", e.what());
    return 1;
  }
}
