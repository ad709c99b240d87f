// EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): item-item
// weights in closed form, B = I - P diag(1/diag(P)) with P = (X^T X + lambda I)^-1, so
// diag(B) = 0; a user's score for item j is the sum of B[i][j] over the user's training items.
// P comes from a Cholesky factorisation and inverse (LAPACK spotrf/spotri) of the item Gram
// matrix, held as one dense float matrix: items^2 * 4 bytes, which is why the catalogue size is
// bounded (evaluation.ease_max_items).
#include <cmath>
#include <string>

#include "core/errors.h"
#include "core/parallel.h"
#include "eval/baselines.h"

extern "C" {
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info);
}

namespace pixelrec::eval {

EaseScorer::EaseScorer(const UserItemIndex& train, uint32_t num_items, double lambda,
                       uint32_t max_items, int threads)
    : train_(train), num_items_(num_items), threads_(threads) {
  if (num_items > max_items)
    throw ConfigError(
        "the ease baseline holds a dense items x items matrix: " + std::to_string(num_items) +
        " items need " + std::to_string(double(num_items) * num_items * 4 / 1e9) +
        " GB, above evaluation.ease_max_items (" + std::to_string(max_items) +
        "); raise that bound if the machine has the memory, or leave ease out");
  if (!(lambda > 0))
    throw ConfigError("evaluation.ease_lambda is " + std::to_string(lambda) +
                      "; the L2 regulariser must be > 0 (default 500)");
  const size_t n = num_items;
  weights_.assign(n * n, 0.0f);
  float* g = weights_.data();
  // Gram matrix X^T X: co-occurrence counts of item pairs over the training users.
  for (uint32_t u = 0; u < train.num_users(); ++u)
    for (const uint32_t* i = train.begin(u); i != train.end(u); ++i)
      for (const uint32_t* j = train.begin(u); j != train.end(u); ++j) g[size_t(*i) * n + *j] += 1;
  for (size_t i = 0; i < n; ++i) g[i * n + i] += float(lambda);
  const int order = int(n);
  int info = 0;
  const char upper = 'U';  // column-major upper = row-major lower: symmetric either way
  spotrf_(&upper, &order, g, &order, &info);
  if (info == 0) spotri_(&upper, &order, g, &order, &info);
  if (info != 0)
    throw Error("the ease baseline's Gram matrix is not positive definite (LAPACK info " +
                std::to_string(info) + "); raise evaluation.ease_lambda");
  // Only the row-major lower triangle holds P; mirror it, then B[i][j] = -P[i][j] / P[j][j].
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) g[i * n + j] = g[j * n + i];
  std::vector<float> diagonal(n);
  for (size_t j = 0; j < n; ++j) diagonal[j] = g[j * n + j];
  parallel_for(n, threads, [&](size_t i) {
    float* row = g + i * n;
    for (size_t j = 0; j < n; ++j) row[j] = i == j ? 0.0f : -row[j] / diagonal[j];
  });
}

void EaseScorer::score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                             size_t num_items, float* out) {
  const size_t n = num_items_;
  std::vector<std::vector<float>> scratch(size_t(std::max(threads_, 1)));
  parallel_for(num_users, threads_, [&](size_t u, size_t worker) {
    std::vector<float>& sums = scratch[worker];
    sums.assign(n, 0.0f);
    const uint32_t user = users[u];
    if (user < train_.num_users())
      for (const uint32_t* i = train_.begin(user); i != train_.end(user); ++i) {
        const float* row = weights_.data() + size_t(*i) * n;
        for (size_t j = 0; j < n; ++j) sums[j] += row[j];
      }
    float* result = out + u * num_items;
    for (size_t j = 0; j < num_items; ++j) result[j] = sums[items[j]];
  });
}

void EaseScorer::score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                             float* out) {
  parallel_for(count, threads_, [&](size_t p) { out[p] = score(users[p], items[p]); });
}

float EaseScorer::score(uint32_t user, uint32_t item) const {
  if (user >= train_.num_users()) return 0.0f;
  float sum = 0.0f;  // in training-item order, as score_block adds
  for (const uint32_t* i = train_.begin(user); i != train_.end(user); ++i)
    sum += weights_[size_t(*i) * num_items_ + item];
  return sum;
}

}  // namespace pixelrec::eval
