// Full-ranking scoring on one device next to that device's matmul rate, measured in the same run
// (scripts/device_check.sh runs it on the GPU and on the CPU), and, on a GPU, the NCCL tensor
// collectives of a one-rank c10d communicator. Prints one JSON object.
//   bench_device [cpu|cuda] [users per block]
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_cli.h"
#include "bench_support.h"
#include "core/config.h"
#include "core/errors.h"
#include "distributed/torch/c10d_communicator.h"
#include "distributed/torch/tensor_collectives.h"
#include "model/device.h"
#include "model/model_scorer.h"
#include "model/recommender.h"

namespace {

using pixelrec::bench::Clock;
using pixelrec::bench::seconds_since;
using namespace pixelrec;
using namespace pixelrec::model;

constexpr int64_t kItems = 82'865, kUsers = 50'000, kTags = 24;

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// TFLOP/s of an [n, n] x [n, n] matmul of `type` on `device`, repeated for at least 1 s.
double matmul_tflops(const torch::Device& device, torch::ScalarType type, int64_t n) {
  const auto options = torch::TensorOptions(type).device(device);
  const torch::Tensor a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  torch::Tensor c = torch::matmul(a, b);
  synchronize(device);
  int64_t reps = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < 1.0) {
    for (int k = 0; k < 10; ++k) c = torch::matmul(a, b);
    synchronize(device);
    reps += 10;
  }
  return 2.0 * double(n) * double(n) * double(n) * double(reps) / seconds_since(start) / 1e12;
}

// FLOPs per scored pair with the factorized first layer (see bench_ranking).
double flops_per_pair(const ModelConfig& c) {
  const auto& h = c.fusion_hidden_dims;
  double flops = double(h[0]) + 2.0 * h.back();
  for (size_t i = 0; i + 1 < h.size(); ++i) flops += 2.0 * h[i] * h[i + 1];
  return flops;
}

nlohmann::json scoring(const torch::Device& device, int64_t block_users) {
  const Config config;
  const NetworkSpec spec{
      config.model, uses_tags(config), {{"image", 165}, {"text", 256}, {"numeric", 7}}};
  torch::manual_seed(uint64_t(config.training.seed));
  Recommender model(spec, RecommenderShape{kUsers, kItems, kTags});
  model.to(device);
  const ItemFeatures features =
      to_device(bench::make_features(spec.content, kItems, kTags, 2), device);
  ModelScorer scorer(model, features);
  std::vector<uint32_t> users(static_cast<size_t>(block_users));
  std::vector<uint32_t> items(static_cast<size_t>(kItems));
  for (int64_t i = 0; i < kItems; ++i) items[size_t(i)] = uint32_t(i);
  for (int64_t u = 0; u < block_users; ++u) users[size_t(u)] = uint32_t(u * 193 % kUsers);
  std::vector<float> scores(size_t(block_users) * size_t(kItems));
  auto t0 = Clock::now();
  scorer.score_block(users.data(), 1, items.data(), 1, scores.data());  // builds the item cache
  const double cache_s = seconds_since(t0);
  scorer.score_block(users.data(), size_t(block_users), items.data(), size_t(kItems),
                     scores.data());  // warm-up
  t0 = Clock::now();
  scorer.score_block(users.data(), size_t(block_users), items.data(), size_t(kItems),
                     scores.data());
  const double block_s = seconds_since(t0);
  size_t non_finite = 0;
  for (float v : scores) non_finite += std::isfinite(v) ? 0 : 1;
  const double pairs = double(block_users) * double(kItems);
  const double tflops = pairs * flops_per_pair(config.model) / block_s / 1e12;
  return {
      {"users", block_users},
      {"items", kItems},
      {"item_cache_seconds", cache_s},
      {"block_seconds", block_s},
      {"pairs_per_second", pairs / block_s},
      {"flop_per_pair", flops_per_pair(config.model)},
      {"tflops", tflops},
      {"non_finite_scores", non_finite},
      {"full_ranking_seconds_pixelrec50k", double(kUsers) * double(kItems) / (pairs / block_s)}};
}

// One-rank NCCL: tensor collectives on device memory, asynchronous launch, and the host API.
nlohmann::json nccl_one_rank(const torch::Device& device) {
  const auto timeout = std::chrono::milliseconds(60'000);
  const RendezvousStore store = RendezvousStore::listen("127.0.0.1", 0, 1, timeout);
  auto comm = make_c10d_communicator(store, 0, 1, "nccl", timeout, device.index());
  const auto collectives = dist::tensor_collectives(*comm);
  const auto options = torch::TensorOptions(torch::kFloat).device(device);
  const torch::Tensor bucket = torch::full({int64_t(1) << 24}, 2.0f, options);  // 64 MiB
  collectives->allreduce_sum(bucket);  // warm-up: creates the NCCL communicator
  synchronize(device);
  const auto t0 = Clock::now();
  constexpr int kReps = 20;
  for (int k = 0; k < kReps; ++k) collectives->start_allreduce_sum(bucket)->wait();
  synchronize(device);
  const double seconds = seconds_since(t0) / kReps;
  const torch::Tensor gathered = collectives->allgather(torch::arange(4, options));
  double host_value = 3.5;
  comm->allreduce_sum(&host_value, 1);
  const bool exact = bucket[0].item<float>() == 2.0f && gathered.sum().item<float>() == 6.0f &&
                     host_value == 3.5 && bucket.device() == device;
  return {{"backend", comm->backend()},
          {"device_tensors", bucket.device().str()},
          {"allreduce_64MiB_seconds", seconds},
          {"results_exact", exact}};
}

int run(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "cpu";
  const torch::Device device = compute_device(name, 0);
  const int64_t block_users = argc > 2 ? std::atol(argv[2]) : (device.is_cuda() ? 4096 : 128);
  if (!device.is_cuda())
    set_compute_threads(int(std::max(1u, std::thread::hardware_concurrency())));
  nlohmann::json out;
  out["device"] = device.is_cuda() ? "cuda" : "cpu";
  out["threads"] = device.is_cuda() ? 0 : at::get_num_threads();
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  out["matmul"] = {{"n", n},
                   {"fp32_tflops", matmul_tflops(device, torch::kFloat, n)},
                   {"bf16_tflops", matmul_tflops(device, torch::kBFloat16, n)}};
  out["scoring"] = scoring(device, block_users);
  out["scoring"]["fraction_of_fp32_matmul"] =
      out["scoring"]["tflops"].get<double>() / out["matmul"]["fp32_tflops"].get<double>();
  out["scoring"]["fraction_of_bf16_matmul"] =
      out["scoring"]["tflops"].get<double>() / out["matmul"]["bf16_tflops"].get<double>();
  if (device.is_cuda()) {
    try {
      out["nccl"] = nccl_one_rank(device);
    } catch (const std::exception& e) {
      out["nccl"] = {{"error", e.what()}};
    }
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return pixelrec::bench::run_main(run, argc, argv); }
