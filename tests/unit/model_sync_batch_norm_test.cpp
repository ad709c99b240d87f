// BatchNorm over ranks: 3 Gloo ranks holding unequal slices of a batch (one of them none) give
// one process's BatchNorm on the whole batch: outputs, input gradients, weight/bias gradients and
// running statistics. Keyed dropout: a row's mask depends on its key, not on its batch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "distributed/torch/tensor_collectives.h"
#include "model/fast_dropout.h"
#include "model/sync_batch_norm.h"
#include "model_gloo_ranks.h"

namespace pixelrec::model {
namespace {

struct Outcome {
  torch::Tensor y, input_grad, weight_grad, bias_grad, running_mean, running_var;
};

// bn on x with `upstream` as the gradient of y; the BatchNorm's weight and bias are non-trivial.
Outcome run_batch_norm(const torch::Tensor& x, const torch::Tensor& upstream,
                       dist::TensorCollectives* ranks, bool native) {
  torch::nn::BatchNorm1d bn(x.size(1));
  {
    torch::NoGradGuard no_grad;
    bn->weight.copy_(torch::linspace(0.5, 1.5, x.size(1)));
    bn->bias.copy_(torch::linspace(-0.2, 0.2, x.size(1)));
  }
  const torch::Tensor input = x.clone().requires_grad_(true);
  const torch::Tensor y = native ? bn->forward(input) : batch_norm_over_ranks(input, *bn, ranks);
  (y * upstream).sum().backward();
  return {y.detach(),      input.grad(),     bn->weight.grad(),
          bn->bias.grad(), bn->running_mean, bn->running_var};
}

TEST(SyncBatchNorm, ThreeRanksEqualOneProcessOnTheWholeBatch) {
  torch::manual_seed(7);
  const torch::Tensor x = torch::randn({13, 6}) * 3 + 1;
  const torch::Tensor upstream = torch::randn({13, 6});
  const Outcome whole = run_batch_norm(x, upstream, nullptr, /*native=*/true);
  const int64_t begin[] = {0, 9, 9}, end[] = {9, 9, 13};  // rank 1 holds no rows
  std::vector<Outcome> parts(3);
  std::mutex mutex;
  const auto errors = run_ranks(3, std::chrono::seconds(60), [&](dist::Communicator& comm) {
    const int r = comm.rank();
    const auto ranks = dist::tensor_collectives(comm);
    const int64_t n = end[r] - begin[r];
    Outcome o = run_batch_norm(x.narrow(0, begin[r], n), upstream.narrow(0, begin[r], n),
                               ranks.get(), /*native=*/false);
    const std::lock_guard<std::mutex> lock(mutex);
    parts[size_t(r)] = o;
  });
  for (const auto& e : errors) ASSERT_EQ(e, "");
  const torch::Tensor y = torch::cat({parts[0].y, parts[1].y, parts[2].y});
  const torch::Tensor input_grad =
      torch::cat({parts[0].input_grad, parts[1].input_grad, parts[2].input_grad});
  EXPECT_TRUE(torch::allclose(y, whole.y, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(input_grad, whole.input_grad, 1e-5, 1e-5));
  // Parameter gradients summed over ranks (what gradient sync does) are one process's.
  EXPECT_TRUE(torch::allclose(parts[0].weight_grad + parts[1].weight_grad + parts[2].weight_grad,
                              whole.weight_grad, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(parts[0].bias_grad + parts[1].bias_grad + parts[2].bias_grad,
                              whole.bias_grad, 1e-5, 1e-5));
  for (const auto& p : parts) {  // every rank holds the global running statistics
    EXPECT_TRUE(torch::allclose(p.running_mean, whole.running_mean, 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(p.running_var, whole.running_var, 1e-6, 1e-6));
  }
}

TEST(SyncBatchNorm, OneProcessMatchesLibTorchsBatchNorm) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({40, 5});
  const torch::Tensor upstream = torch::randn({40, 5});
  const Outcome native = run_batch_norm(x, upstream, nullptr, true);
  const Outcome ours = run_batch_norm(x, upstream, nullptr, false);
  EXPECT_TRUE(torch::allclose(ours.y, native.y, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(ours.input_grad, native.input_grad, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(ours.running_var, native.running_var, 1e-6, 1e-6));
}

TEST(SyncBatchNorm, OneRowIsAClearError) {
  torch::nn::BatchNorm1d bn(3);
  try {
    batch_norm_over_ranks(torch::ones({1, 3}), *bn, nullptr);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("training.batch_size"), std::string::npos) << e.what();
  }
}

TEST(KeyedDropout, ARowsMaskDependsOnItsKeyAloneAndSitesDiffer) {
  const DropoutKeys batch{42, torch::tensor({5, 7, 9}, torch::kLong)};
  const DropoutKeys alone{42, torch::tensor({7}, torch::kLong)};
  const torch::Tensor all = keyed_dropout_mask(batch, 64, 0.3);
  EXPECT_TRUE(torch::equal(all[1], keyed_dropout_mask(alone, 64, 0.3)[0]));
  EXPECT_FALSE(torch::equal(all[0], all[2]));
  EXPECT_FALSE(torch::equal(all, keyed_dropout_mask(batch.site(1), 64, 0.3)));
  // Inverted dropout: kept values scaled by 1/(1-p), about p of them dropped.
  const torch::Tensor big = keyed_dropout_mask({1, torch::arange(2000, torch::kLong)}, 50, 0.3);
  EXPECT_NEAR(big.eq(0).to(torch::kFloat).mean().item<double>(), 0.3, 0.01);
  EXPECT_FLOAT_EQ(big.max().item<float>(), float(1 / 0.7));
}

}  // namespace
}  // namespace pixelrec::model
