#include <gtest/gtest.h>

#include "model/embedding_table.h"
#include "model/fast_dropout.h"

namespace pixelrec::model {
namespace {

std::vector<int64_t> longs(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kLong).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// When every row is touched at every step, the lazy row-wise optimizer is the dense one.
void expect_matches_dense(const std::string& type) {
  torch::manual_seed(5);
  EmbeddingTable table("t", 4, 3, "xavier_uniform");
  torch::Tensor dense = table.weight().clone().requires_grad_(true);
  RowOptimizerOptions o;
  o.type = type;
  o.weight_decay = 0.01;
  o.momentum = 0.9;
  std::unique_ptr<torch::optim::Optimizer> reference;
  if (type == "adam")
    reference = std::make_unique<torch::optim::Adam>(
        std::vector<torch::Tensor>{dense}, torch::optim::AdamOptions(0.1).weight_decay(0.01));
  else if (type == "adamw")
    reference = std::make_unique<torch::optim::AdamW>(
        std::vector<torch::Tensor>{dense}, torch::optim::AdamWOptions(0.1).weight_decay(0.01));
  else
    reference = std::make_unique<torch::optim::SGD>(
        std::vector<torch::Tensor>{dense},
        torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01));
  const torch::Tensor coefficients = torch::randn({4, 3});
  const torch::Tensor all_rows = torch::tensor({3, 0, 2, 1, 0}, torch::kLong);
  for (int step = 0; step < 5; ++step) {
    (table.lookup(all_rows) * coefficients.index_select(0, all_rows)).pow(2).sum().backward();
    table.step(table.gradient(), o, 0.1);
    table.zero_grad();
    reference->zero_grad();
    (dense.index_select(0, all_rows) * coefficients.index_select(0, all_rows))
        .pow(2)
        .sum()
        .backward();
    reference->step();
  }
  EXPECT_LT((table.weight() - dense.detach()).abs().max().item<double>(), 1e-6) << type;
}

TEST(EmbeddingTableTest, MatchesDenseOptimizersWhenEveryRowIsTouched) {
  expect_matches_dense("adam");
  expect_matches_dense("adamw");
  expect_matches_dense("sgd");
}

TEST(EmbeddingTableTest, UntouchedRowsAndTheirStateNeverChange) {
  torch::manual_seed(6);
  EmbeddingTable table("t", 100, 4, "xavier_normal");
  std::vector<torch::Tensor> before;
  for (auto& [name, t] : table.state_tensors()) before.push_back(t->clone());
  table.lookup(torch::tensor({7, 42, 7}, torch::kLong)).sum().backward();
  const auto grad = table.gradient();
  EXPECT_EQ(grad.first.numel(), 2);  // distinct rows only
  EXPECT_TRUE(torch::equal(grad.second,
                           torch::full({2, 4}, 1.0f) * torch::tensor({2.0f, 1.0f}).unsqueeze(1)));
  table.step(grad, RowOptimizerOptions{}, 0.05);
  size_t k = 0;
  for (auto& [name, t] : table.state_tensors()) {
    const torch::Tensor changed = (*t != before[k++]).reshape({100, -1}).any(1);
    EXPECT_EQ(longs(changed.nonzero().squeeze(1)), (std::vector<int64_t>{7, 42})) << name;
  }
}

TEST(EmbeddingTableTest, AccumulatedLookupsMergeByRow) {
  EmbeddingTable table("t", 5, 2, "xavier_uniform");
  table.lookup(torch::tensor({1, 2}, torch::kLong)).sum().backward();
  (2 * table.lookup(torch::tensor({2, 4}, torch::kLong))).sum().backward();
  const auto [rows, grad] = table.gradient();
  EXPECT_EQ(longs(rows), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_TRUE(torch::equal(grad.select(1, 0), torch::tensor({1.0f, 3.0f, 2.0f})));
}

TEST(EmbeddingTableTest, NoGradLookupIsPlainGather) {
  EmbeddingTable table("t", 5, 2, "xavier_uniform");
  torch::NoGradGuard no_grad;
  const auto rows = table.lookup(torch::tensor({4, 0}, torch::kLong));
  EXPECT_TRUE(torch::equal(rows[0], table.weight()[4]));
  EXPECT_FALSE(table.gradient().first.defined());
}

}  // namespace
}  // namespace pixelrec::model

namespace pixelrec::model {
namespace {

TEST(FastDropoutTest, DropsTheRightShareScalesKeptValuesAndIsDeterministic) {
  const torch::Tensor mask = dropout_mask(400001, 0.3, 7);
  const double dropped = mask.eq(0).sum().item<double>() / 400001.0;
  EXPECT_NEAR(dropped, 0.3, 0.005);
  EXPECT_NEAR(mask.max().item<float>(), 1.0f / 0.7f, 1e-6);
  EXPECT_TRUE(torch::equal(mask, dropout_mask(400001, 0.3, 7)));
  EXPECT_FALSE(torch::equal(mask, dropout_mask(400001, 0.3, 8)));
  EXPECT_NEAR(mask.mean().item<double>(), 1.0, 0.01);  // inverted dropout keeps the expectation

  FastDropout dropout(0.5);
  const torch::Tensor x = torch::ones({64, 8}, torch::requires_grad());
  dropout->train(false);
  EXPECT_TRUE(torch::equal(dropout->forward(x), x));  // identity in eval mode
  dropout->train(true);
  torch::manual_seed(3);
  const torch::Tensor a = dropout->forward(x);
  torch::manual_seed(3);
  EXPECT_TRUE(torch::equal(a, dropout->forward(x)));  // reproducible from torch's generator
  a.sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), a.detach()));  // gradient = the scaled mask
}

}  // namespace
}  // namespace pixelrec::model
