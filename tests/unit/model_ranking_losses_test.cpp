// The ranking losses of training.loss on tiny tensors against values computed by hand, and the
// logQ correction: the log sampling probabilities BatchLoss derives and what they do to a loss.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "data/negative_sampler.h"
#include "model/batch_loss.h"
#include "model/ranking_losses.h"

namespace pixelrec::model {
namespace {

double softplus(double x) { return std::log1p(std::exp(x)); }

// Two positives (places 0, 1); negatives 2, 3 belong to positive 0 and 4 to positive 1.
const torch::Tensor kLogits = torch::tensor({2.0f, 1.0f, 0.5f, 1.5f, -1.0f});
const torch::Tensor kOwner = torch::tensor({0, 1, 0, 0, 1}, torch::kLong);

TEST(RankingLosses, BprIsTheMeanOverNegativesOfMinusLogSigmoidOfTheMargin) {
  const double expected = (softplus(0.5 - 2.0) + softplus(1.5 - 2.0) + softplus(-1.0 - 1.0)) / 3;
  EXPECT_NEAR(bpr_loss(kLogits, 2, kOwner).item<double>(), expected, 1e-6);
  // -log sigmoid(x) = softplus(-x): the same as the textbook form.
  const double textbook =
      -(std::log(1 / (1 + std::exp(-1.5))) + std::log(1 / (1 + std::exp(-0.5))) +
        std::log(1 / (1 + std::exp(-2.0)))) /
      3;
  EXPECT_NEAR(bpr_loss(kLogits, 2, kOwner).item<double>(), textbook, 1e-6);
}

TEST(RankingLosses, BprWithoutNegativesIsZeroAndKeepsTheGraph) {
  const torch::Tensor logits = torch::tensor({1.0f, 2.0f}).requires_grad_();
  const torch::Tensor loss = bpr_loss(logits, 2, torch::tensor({0, 1}, torch::kLong));
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_TRUE(logits.grad().defined());
}

TEST(RankingLosses, GroupedSoftmaxIsEachPositiveAgainstItsOwnNegativesAfterLogQ) {
  const torch::Tensor log_q = torch::tensor({-1.0f, -2.0f, -0.5f, -3.0f, -1.0f});
  // Group 0: places {0, 2, 3}; group 1: {1, 4}; x = s - log q.
  const double x0 = 2.0 + 1.0, x2 = 0.5 + 0.5, x3 = 1.5 + 3.0, x1 = 1.0 + 2.0, x4 = -1.0 + 1.0;
  const double row0 = std::log(std::exp(x0) + std::exp(x2) + std::exp(x3)) - x0;
  const double row1 = std::log(std::exp(x1) + std::exp(x4)) - x1;
  EXPECT_NEAR(grouped_softmax_loss(kLogits, 2, kOwner, log_q).item<double>(), (row0 + row1) / 2,
              1e-5);
}

TEST(RankingLosses, GroupedSoftmaxGradientIsSoftmaxMinusTarget) {
  const torch::Tensor logits = kLogits.clone().requires_grad_();
  grouped_softmax_loss(logits, 2, kOwner, torch::zeros({5})).backward();
  const double z0 = std::exp(2.0) + std::exp(0.5) + std::exp(1.5);
  // d/ds_0 of row 0 / 2 rows = (softmax_0 - 1) / 2.
  EXPECT_NEAR(logits.grad()[0].item<double>(), (std::exp(2.0) / z0 - 1) / 2, 1e-6);
  EXPECT_NEAR(logits.grad()[3].item<double>(), (std::exp(1.5) / z0) / 2, 1e-6);
}

TEST(RankingLosses, InBatchSoftmaxMasksOtherColumnsOfTheRowsOwnItem) {
  // Rows: positives 0 (item 7) and 1 (item 8); columns: items {7, 8, 7, 9} (column 2 is a
  // negative that happens to be row 0's item: masked for row 0, a candidate for row 1).
  const torch::Tensor scores = torch::tensor({{3.0f, 1.0f, 5.0f, 0.0f}, {0.5f, 2.0f, 1.0f, -1.0f}});
  const torch::Tensor items = torch::tensor({7, 8, 7, 9}, torch::kLong);
  const torch::Tensor log_q = torch::tensor({-1.0f, -2.0f, -1.5f, -0.5f});
  const double r0 =
      std::log(std::exp(3.0 + 1.0) + std::exp(1.0 + 2.0) + std::exp(0.0 + 0.5)) - (3.0 + 1.0);
  const double r1 = std::log(std::exp(0.5 + 1.0) + std::exp(2.0 + 2.0) + std::exp(1.0 + 1.5) +
                             std::exp(-1.0 + 0.5)) -
                    (2.0 + 2.0);
  // Unit user rows make users · itemsᵀ = scores; at temperature 0.5 every score doubles.
  const torch::Tensor users = torch::eye(2);
  EXPECT_NEAR(
      in_batch_softmax_loss(users, scores.t(), torch::ones({}), items, log_q).item<double>(),
      (r0 + r1) / 2, 1e-5);
  const torch::Tensor half = torch::full({}, 0.5);
  const double h0 =
      std::log(std::exp(6.0 + 1.0) + std::exp(2.0 + 2.0) + std::exp(0.0 + 0.5)) - (6.0 + 1.0);
  const double h1 = std::log(std::exp(1.0 + 1.0) + std::exp(4.0 + 2.0) + std::exp(2.0 + 1.5) +
                             std::exp(-2.0 + 0.5)) -
                    (4.0 + 2.0);
  EXPECT_NEAR(in_batch_softmax_loss(users, scores.t(), half, items, log_q).item<double>(),
              (h0 + h1) / 2, 1e-5);
}

// Items 0..3 with training counts {3, 1, 0, 4}; negatives from the training items.
TEST(RankingLosses, LogQIsThePopularityShareInBatchAndTheSamplersProbabilityForNegatives) {
  const std::vector<int64_t> counts = {3, 1, 0, 4};
  IndexedInteractions train;
  for (uint32_t item : {0u, 0u, 0u, 1u, 3u, 3u, 3u, 3u}) {
    train.user.push_back(0);
    train.item.push_back(item);
    train.timestamp.push_back(0);
  }
  const UserItemIndex exclude(1, train);
  const NegativeSampler uniform(NegativeStrategy::kRandom, {0, 1, 3}, counts, exclude);
  const BatchLoss loss("softmax", counts, uniform);
  const auto in_batch = loss.log_q_in_batch(), negative = loss.log_q_negative();
  EXPECT_NEAR(in_batch[0].item<double>(), std::log(3.0 / 8), 1e-6);
  EXPECT_NEAR(in_batch[1].item<double>(), std::log(1.0 / 8), 1e-6);
  EXPECT_TRUE(std::isinf(in_batch[2].item<double>()));  // never a positive
  EXPECT_NEAR(in_batch[3].item<double>(), std::log(4.0 / 8), 1e-6);
  for (int item : {0, 1, 3}) EXPECT_NEAR(negative[item].item<double>(), std::log(1.0 / 3), 1e-6);
  const NegativeSampler popular(NegativeStrategy::kPopularity, {0, 1, 3}, counts, exclude);
  const auto by_popularity = BatchLoss("softmax", counts, popular).log_q_negative();
  EXPECT_NEAR(by_popularity[3].item<double>(), std::log(4.0 / 8), 1e-6);
  // An unknown loss is refused when the loss is built, not at the first step.
  EXPECT_THROW(BatchLoss("hinge", counts, popular), ConfigError);

  // The correction: a popular item's logit is lowered by log q, so the same raw scores give a
  // larger loss when the positive is the popular item and the negative the rare one.
  const torch::Tensor raw = torch::tensor({1.0f, 1.0f});
  const torch::Tensor owner = torch::tensor({0, 0}, torch::kLong);
  const torch::Tensor q = torch::stack({in_batch[3], in_batch[1]});  // positive 3, negative 1
  const double corrected = grouped_softmax_loss(raw, 1, owner, q).item<double>();
  EXPECT_NEAR(corrected, std::log(1 + std::exp(std::log(4.0 / 8) - std::log(1.0 / 8))), 1e-5);
  EXPECT_GT(corrected, grouped_softmax_loss(raw, 1, owner, torch::zeros({2})).item<double>());
}

}  // namespace
}  // namespace pixelrec::model
