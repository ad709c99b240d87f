// EASE^R: the item-item weights equal the closed form computed independently (double-precision
// Gauss-Jordan inverse of X^T X + lambda I), the diagonal is 0, blocks agree with pairs, a cold
// user scores 0, and a catalogue above the bound is refused before any memory is taken.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/errors.h"
#include "eval/baselines.h"
#include "unit/eval_interactions_fixture.h"

namespace pixelrec::eval {
namespace {

// Rows of a users x items 0/1 matrix.
const std::vector<std::vector<uint32_t>> kTrain = {{0, 1, 2}, {0, 1}, {1, 3}, {2, 3, 4}, {0, 4}};
constexpr uint32_t kItems = 5;

// (X^T X + lambda I)^-1 by Gauss-Jordan elimination in double.
std::vector<std::vector<double>> reference_inverse(double lambda) {
  const size_t n = kItems;
  std::vector<std::vector<double>> a(n, std::vector<double>(2 * n, 0.0));
  for (const auto& row : kTrain)
    for (uint32_t i : row)
      for (uint32_t j : row) a[i][j] += 1;
  for (size_t i = 0; i < n; ++i) a[i][i] += lambda, a[i][n + i] = 1;
  for (size_t c = 0; c < n; ++c) {
    const double pivot = a[c][c];
    for (auto& v : a[c]) v /= pivot;
    for (size_t r = 0; r < n; ++r)
      if (r != c) {
        const double f = a[r][c];
        for (size_t k = 0; k < 2 * n; ++k) a[r][k] -= f * a[c][k];
      }
  }
  std::vector<std::vector<double>> inverse(n, std::vector<double>(n));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) inverse[i][j] = a[i][n + j];
  return inverse;
}

TEST(Ease, WeightsEqualTheClosedForm) {
  const IndexedInteractions part = interactions_of(kTrain);
  const UserItemIndex train(uint32_t(kTrain.size()), part);
  const double lambda = 0.7;
  EaseScorer ease(train, kItems, lambda, 100, 2);
  const auto p = reference_inverse(lambda);
  for (uint32_t i = 0; i < kItems; ++i)
    for (uint32_t j = 0; j < kItems; ++j) {
      const double expected = i == j ? 0.0 : -p[i][j] / p[j][j];
      EXPECT_NEAR(ease.weight(i, j), expected, 1e-5) << i << "," << j;
    }
  // score(u, j) = sum of B[i][j] over u's items; blocks agree with pairs; a cold user scores 0.
  const uint32_t users[] = {0, 3, 7};
  const uint32_t items[] = {4, 3, 0};
  float block[9], pairs[3];
  ease.score_block(users, 3, items, 3, block);
  for (int u = 0; u < 3; ++u)
    for (int j = 0; j < 3; ++j) {
      double expected = 0;
      if (users[u] < kTrain.size())
        for (uint32_t i : kTrain[users[u]]) expected += ease.weight(i, items[j]);
      EXPECT_NEAR(block[u * 3 + j], expected, 1e-6);
    }
  const uint32_t pair_users[] = {0, 3, 7};
  ease.score_pairs(pair_users, items, 3, pairs);
  EXPECT_EQ(pairs[0], block[0]);
  EXPECT_EQ(pairs[1], block[4]);
  EXPECT_EQ(pairs[2], 0.0f);
}

TEST(Ease, ACatalogueAboveTheBoundIsAClearError) {
  const IndexedInteractions part = interactions_of(kTrain);
  const UserItemIndex train(uint32_t(kTrain.size()), part);
  try {
    EaseScorer ease(train, kItems, 1.0, 4, 1);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("evaluation.ease_max_items"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace pixelrec::eval
