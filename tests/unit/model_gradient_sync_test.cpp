// GradientSync over Gloo ranks (threads of this process), shaped like DDP: buckets of dense
// gradients launched during the step's last backward as they become ready, the rest at the step;
// the result is exactly the sum of every rank's local gradients, also when a rank has no backward.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <mutex>
#include <vector>

#include "model/gradient_sync.h"
#include "model_gloo_ranks.h"

namespace pixelrec::model {
namespace {

using std::chrono::milliseconds;

// LibTorch's default generator is global: ranks (threads) copy one seeded prototype's values
// and take inputs drawn before they start.
struct TinyNet : torch::nn::Module {
  TinyNet() {
    a = register_module("a", torch::nn::Linear(6, 8));
    b = register_module("b", torch::nn::Linear(8, 8));
    c = register_module("c", torch::nn::Linear(8, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return c->forward(torch::relu(b->forward(torch::relu(a->forward(x)))));
  }
  torch::nn::Linear a{nullptr}, b{nullptr}, c{nullptr};
};

const std::vector<torch::Tensor>& prototype_values() {
  static const std::vector<torch::Tensor> values = [] {
    torch::manual_seed(7);
    TinyNet net;
    std::vector<torch::Tensor> v;
    for (auto& p : net.parameters()) v.push_back(p.detach().clone());
    return v;
  }();
  return values;
}

const torch::Tensor& input_of(int rank) {
  static const std::vector<torch::Tensor> inputs = [] {
    torch::manual_seed(100);
    std::vector<torch::Tensor> v;
    for (int r = 0; r < 3; ++r) v.push_back(torch::randn({5, 6}));
    return v;
  }();
  return inputs[size_t(rank)];
}

void load_prototype(TinyNet& net) {
  torch::NoGradGuard no_grad;
  const auto params = net.parameters();
  for (size_t k = 0; k < params.size(); ++k) params[k].copy_(prototype_values()[k]);
}

// Each rank's local gradients (no synchronisation), flattened in parameter order.
torch::Tensor local_gradient(int rank) {
  TinyNet net;
  load_prototype(net);
  net.forward(input_of(rank)).square().sum().backward();
  std::vector<torch::Tensor> grads;
  for (auto& p : net.parameters()) grads.push_back(p.grad().reshape({-1}));
  return torch::cat(grads);
}

torch::Tensor run_step(dist::Communicator& comm, bool this_rank_backward, int64_t* overlapped) {
  TinyNet net;
  load_prototype(net);
  const std::vector<torch::Tensor> params = net.parameters();
  GradientSync sync(comm, torch::kCPU, /*bucket_floats=*/40);  // several buckets
  sync.register_dense(params);
  sync.arm_overlap();
  if (this_rank_backward) net.forward(input_of(comm.rank())).square().sum().backward();
  sync.allreduce_dense(params);
  *overlapped = sync.buckets_overlapped();
  std::vector<torch::Tensor> grads;
  for (auto& p : params) grads.push_back(p.grad().reshape({-1}));
  return torch::cat(grads);
}

TEST(GradientSync, BucketsReducedDuringBackwardGiveTheSumOfLocalGradients) {
  const int world = 3;
  prototype_values(), input_of(0);  // drawn before the rank threads start
  std::vector<torch::Tensor> synced(world);
  std::vector<int64_t> overlapped(world, 0);
  const auto errors = run_ranks(world, milliseconds(20000), [&](dist::Communicator& comm) {
    synced[size_t(comm.rank())] = run_step(comm, true, &overlapped[size_t(comm.rank())]);
  });
  EXPECT_EQ(errors, (std::vector<std::string>(world, "")));
  const torch::Tensor expected = local_gradient(0) + local_gradient(1) + local_gradient(2);
  for (int r = 0; r < world; ++r) {
    EXPECT_TRUE(torch::allclose(synced[size_t(r)], expected, 1e-6, 1e-6)) << "rank " << r;
    // Every bucket of a rank with a backward was launched during that backward.
    EXPECT_GE(overlapped[size_t(r)], 3) << "rank " << r;
  }
}

TEST(GradientSync, RankWithoutBackwardStillTakesPartInEveryBucket) {
  const int world = 2;
  prototype_values(), input_of(0);
  std::vector<torch::Tensor> synced(world);
  std::vector<int64_t> overlapped(world, 0);
  const auto errors = run_ranks(world, milliseconds(20000), [&](dist::Communicator& comm) {
    synced[size_t(comm.rank())] =
        run_step(comm, comm.rank() == 0, &overlapped[size_t(comm.rank())]);
  });
  EXPECT_EQ(errors, (std::vector<std::string>(world, "")));
  const torch::Tensor expected = local_gradient(0);
  for (int r = 0; r < world; ++r)
    EXPECT_TRUE(torch::allclose(synced[size_t(r)], expected, 1e-6, 1e-6)) << "rank " << r;
  EXPECT_GE(overlapped[0], 3);
  EXPECT_EQ(overlapped[1], 0);  // it launched every bucket at the step
}

// Rank r touches rows {r, r+1, ..., r+7} (rank 2 also row 9 with a zero gradient) of a table.
RowGradient rows_of_rank(int rank) {
  std::vector<int64_t> rows;
  for (int64_t k = 0; k < 8; ++k) rows.push_back(rank + k);
  if (rank == 2) rows.push_back(9);
  const int64_t n = int64_t(rows.size());
  torch::Tensor grad = torch::arange(n * 3, torch::kFloat).reshape({n, 3}).add(float(10 * rank));
  if (rank == 2) grad[n - 1].zero_();
  return {torch::tensor(rows, torch::kLong), grad};
}

// Both ways of merging a replicated table's rows (padded allgather for few rows per rank, dense
// allreduce with a touched column when N x rows outgrows the table) give the same rows and sums;
// a touched row with a zero gradient stays in the result (its lazy optimizer step).
TEST(GradientSync, RowMergeByAllgatherAndByDenseAllreduceAgree) {
  const int world = 3;
  std::vector<RowGradient> sparse(world), dense(world);
  const auto errors = run_ranks(world, milliseconds(20000), [&](dist::Communicator& comm) {
    GradientSync sync(comm);
    const RowGradient local = rows_of_rank(comm.rank());
    // One exchange, two tables: 3 ranks x 9 rows < 2 x 1000 (allgather), > 2 x 10 (allreduce).
    const auto exchange = sync.exchange_rows({local, local}, {3, 3}, {1000, 10}, 0.0, 0);
    sparse[size_t(comm.rank())] = exchange.merged[0];
    dense[size_t(comm.rank())] = exchange.merged[1];
  });
  EXPECT_EQ(errors, (std::vector<std::string>(world, "")));
  torch::Tensor expected = torch::zeros({10, 3});
  for (int r = 0; r < world; ++r) {
    const RowGradient g = rows_of_rank(r);
    expected.index_add_(0, g.first, g.second);
  }
  const torch::Tensor expected_rows = torch::arange(10, torch::kLong);
  for (int r = 0; r < world; ++r) {
    for (const auto* merged : {&sparse[size_t(r)], &dense[size_t(r)]}) {
      ASSERT_TRUE(merged->first.defined());
      EXPECT_TRUE(torch::equal(merged->first, expected_rows)) << merged->first;
      EXPECT_TRUE(torch::allclose(merged->second, expected)) << merged->second;
    }
  }
}

}  // namespace
}  // namespace pixelrec::model
