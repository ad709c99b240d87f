// iALS (Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback Datasets", ICDM
// 2008): an ID-only matrix factorisation. A training interaction has preference 1 and confidence
// 1 + alpha, every other pair preference 0 and confidence 1; user and item factors alternate
// exact least-squares solves, each (Y^T Y + alpha sum_{i in I_u} y_i y_i^T + lambda I) x_u =
// (1 + alpha) sum_{i in I_u} y_i, with Y^T Y computed once per half-iteration (the paper's
// trick: unobserved pairs cost nothing per row). Solves run in parallel over rows, each through
// LAPACK's dposv; results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "eval/baselines.h"

extern "C" {
void dposv_(const char* uplo, const int* n, const int* nrhs, double* a, const int* lda, double* b,
            const int* ldb, int* info);
}

namespace pixelrec::eval {
namespace {

// Solves every row's factors from the other side's (`fixed`, rows x k) and each row's observed
// columns (`observed`: row → columns).
void solve_side(const UserItemIndex& observed, uint32_t rows, const std::vector<float>& fixed,
                int k, double alpha, double lambda, int threads, std::vector<float>& out) {
  const size_t kk = size_t(k) * size_t(k);
  std::vector<double> gram(kk, 0.0);  // fixed^T fixed
  const size_t fixed_rows = fixed.size() / size_t(k);
  for (size_t r = 0; r < fixed_rows; ++r) {
    const float* y = fixed.data() + r * size_t(k);
    for (int a = 0; a < k; ++a)
      for (int b = 0; b < k; ++b) gram[size_t(a) * k + b] += double(y[a]) * y[b];
  }
  out.assign(size_t(rows) * size_t(k), 0.0f);
  std::vector<std::vector<double>> scratch(size_t(std::max(threads, 1)));
  parallel_for(rows, threads, [&](size_t row, size_t worker) {
    if (row >= observed.num_users() || observed.count(uint32_t(row)) == 0) return;  // stays 0
    std::vector<double>& s = scratch[worker];
    s.assign(kk + size_t(k), 0.0);
    double* a = s.data();
    double* rhs = s.data() + kk;
    std::copy(gram.begin(), gram.end(), a);
    for (int d = 0; d < k; ++d) a[size_t(d) * k + d] += lambda;
    for (const uint32_t* c = observed.begin(uint32_t(row)); c != observed.end(uint32_t(row)); ++c) {
      const float* y = fixed.data() + size_t(*c) * size_t(k);
      for (int i = 0; i < k; ++i) {
        rhs[i] += (1.0 + alpha) * y[i];
        for (int j = 0; j < k; ++j) a[size_t(i) * k + j] += alpha * double(y[i]) * y[j];
      }
    }
    const int n = k, one = 1;
    int info = 0;
    const char upper = 'U';
    dposv_(&upper, &n, &one, a, &n, rhs, &n, &info);
    PIXELREC_CHECK(info == 0, "iALS: a regularised normal matrix is positive definite");
    float* x = out.data() + row * size_t(k);
    for (int i = 0; i < k; ++i) x[i] = float(rhs[i]);
  });
}

}  // namespace

IalsScorer::IalsScorer(const UserItemIndex& train, uint32_t num_items, const IalsOptions& o,
                       uint64_t seed, int threads)
    : train_(train), num_items_(num_items), factors_(o.factors), threads_(threads) {
  if (o.factors < 1 || o.iterations < 1 || !(o.regularization > 0) || !(o.alpha >= 0))
    throw ConfigError(
        "evaluation.ials_*: factors and iterations must be >= 1, regularization > 0 "
        "and alpha >= 0 (defaults 64, 15, 0.1, 10)");
  const UserItemIndex item_users = transpose(train, num_items);
  // Item factors start small and random (seeded); user factors are solved first.
  items_.resize(size_t(num_items) * size_t(factors_));
  Rng rng = Rng::stream(seed, {0x49414C53ull /* "IALS" */});
  const double scale = 0.1 / std::sqrt(double(factors_));
  for (auto& v : items_) v = float(rng.uniform(-scale, scale));
  for (int it = 0; it < o.iterations; ++it) {
    solve_side(train, train.num_users(), items_, factors_, o.alpha, o.regularization, threads,
               users_);
    solve_side(item_users, num_items, users_, factors_, o.alpha, o.regularization, threads, items_);
  }
}

float IalsScorer::score(uint32_t user, uint32_t item) const {
  if (user >= train_.num_users()) return 0.0f;
  const float* x = users_.data() + size_t(user) * size_t(factors_);
  const float* y = items_.data() + size_t(item) * size_t(factors_);
  float sum = 0.0f;
  for (int d = 0; d < factors_; ++d) sum += x[d] * y[d];
  return sum;
}

void IalsScorer::score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                             size_t num_items, float* out) {
  parallel_for(num_users, threads_, [&](size_t u) {
    for (size_t j = 0; j < num_items; ++j) out[u * num_items + j] = score(users[u], items[j]);
  });
}

void IalsScorer::score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                             float* out) {
  parallel_for(count, threads_, [&](size_t p) { out[p] = score(users[p], items[p]); });
}

}  // namespace pixelrec::eval
