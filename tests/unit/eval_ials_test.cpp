// iALS: after the last half-iteration every item's factors solve their weighted least-squares
// normal equations given the user factors (checked in double, independently of LAPACK), scores
// are dot products, cold users score 0, and the factors do not depend on the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "eval/baselines.h"
#include "unit/eval_interactions_fixture.h"

namespace pixelrec::eval {
namespace {

const std::vector<std::vector<uint32_t>> kTrain = {{0, 1, 2}, {0, 1}, {1, 3},
                                                   {2, 3, 4}, {0, 4}, {1, 2, 5}};
constexpr uint32_t kItems = 7;  // item 6 has no interaction

TEST(Ials, ItemFactorsSolveTheirNormalEquationsAndThreadsDoNotMatter) {
  const IndexedInteractions part = interactions_of(kTrain);
  const UserItemIndex train(uint32_t(kTrain.size()), part);
  const IalsOptions o{4, 5, 0.5, 3.0};
  IalsScorer one(train, kItems, o, 7, 1), three(train, kItems, o, 7, 3);
  EXPECT_EQ(one.item_factors(), three.item_factors());
  EXPECT_EQ(one.user_factors(), three.user_factors());
  const auto& x = one.user_factors();
  const auto& y = one.item_factors();
  const int k = o.factors;
  for (uint32_t i = 0; i < kItems; ++i) {
    // residual = (X^T X + alpha sum_{u has i} x_u x_u^T + lambda I) y_i - (1 + alpha) sum x_u
    std::vector<double> residual(size_t(k), 0.0);
    bool observed = false;
    for (uint32_t u = 0; u < kTrain.size(); ++u) {
      const bool has = std::count(kTrain[u].begin(), kTrain[u].end(), i) > 0;
      observed |= has;
      double dot = 0;
      for (int d = 0; d < k; ++d) dot += double(x[u * k + d]) * y[i * k + d];
      for (int d = 0; d < k; ++d)
        residual[d] += (1 + (has ? o.alpha : 0)) * dot * x[u * k + d] -
                       (has ? (1 + o.alpha) * x[u * k + d] : 0.0);
    }
    for (int d = 0; d < k; ++d) {
      residual[d] += o.regularization * y[i * k + d];
      EXPECT_NEAR(residual[d], 0.0, 1e-4) << "item " << i << " dim " << d;
    }
    if (!observed) {
      for (int d = 0; d < k; ++d) EXPECT_EQ(y[i * k + d], 0.0f);
    }
  }
  // Scores are dot products; a cold user (no training row) scores 0.
  const uint32_t users[] = {1, 40};
  const uint32_t items[] = {3, 0};
  float block[4];
  one.score_block(users, 2, items, 2, block);
  double expected = 0;
  for (int d = 0; d < k; ++d) expected += double(x[1 * k + d]) * y[3 * k + d];
  EXPECT_NEAR(block[0], expected, 1e-6);
  EXPECT_EQ(block[2], 0.0f);
  EXPECT_EQ(block[3], 0.0f);
}

}  // namespace
}  // namespace pixelrec::eval
