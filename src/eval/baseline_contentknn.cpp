// Content KNN: a user's profile is the mean content vector of their training items; an item's
// score is its dot product with the profile. Blocks are a tiled (profiles × item rows) product.
#include <algorithm>

#include "core/parallel.h"
#include "eval/baselines.h"

namespace pixelrec::eval {

namespace {

constexpr size_t kUserTile = 32;  // profiles computed and kept per task
constexpr size_t kItemTile = 64;  // item rows reused from cache across the tile's users
constexpr size_t kPairsPerTask = 2048;
constexpr int kLanes = 8;

// Dot product with a fixed summation order (8 independent lanes, then the tail), which the
// compiler vectorises; score_block and score_pairs share it, so they agree bit for bit.
float dot(const float* a, const float* b, int dim) {
  float lanes[kLanes] = {};
  int d = 0;
  for (; d + kLanes <= dim; d += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += a[d + l] * b[d + l];
  float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
              ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (; d < dim; ++d) sum += a[d] * b[d];
  return sum;
}

}  // namespace

ContentKnnScorer::ContentKnnScorer(const UserItemIndex& train, const ContentVectors& content,
                                   int threads)
    : train_(train), content_(content), threads_(threads) {}

bool ContentKnnScorer::profile(uint32_t user, float* out) const {
  const int dim = content_.dim;
  std::fill(out, out + dim, 0.0f);
  if (user >= train_.num_users()) return false;
  int used = 0;
  for (const uint32_t* i = train_.begin(user); i != train_.end(user); ++i) {
    if (!content_.has(*i)) continue;
    const float* row = content_.row(*i);
    for (int d = 0; d < dim; ++d) out[d] += row[d];
    ++used;
  }
  if (used == 0) return false;
  const float inv = 1.0f / float(used);
  for (int d = 0; d < dim; ++d) out[d] *= inv;
  return true;
}

void ContentKnnScorer::score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                                   size_t num_items, float* out) {
  const int dim = content_.dim;
  const size_t tiles = (num_users + kUserTile - 1) / kUserTile;
  std::vector<std::vector<float>> scratch(size_t(std::max(threads_, 1)));
  parallel_for(tiles, threads_, [&](size_t tile, size_t worker) {
    std::vector<float>& profiles = scratch[worker];
    profiles.resize(kUserTile * size_t(dim));
    const size_t u0 = tile * kUserTile, u1 = std::min(num_users, u0 + kUserTile);
    bool has_profile[kUserTile];
    for (size_t u = u0; u < u1; ++u)
      has_profile[u - u0] = profile(users[u], profiles.data() + (u - u0) * dim);
    for (size_t j0 = 0; j0 < num_items; j0 += kItemTile) {
      const size_t j1 = std::min(num_items, j0 + kItemTile);
      for (size_t u = u0; u < u1; ++u) {
        float* row = out + u * num_items;
        if (!has_profile[u - u0]) {
          std::fill(row + j0, row + j1, 0.0f);
          continue;
        }
        const float* p = profiles.data() + (u - u0) * dim;
        for (size_t j = j0; j < j1; ++j) row[j] = dot(p, content_.row(items[j]), dim);
      }
    }
  });
}

// Pairs usually come grouped by user (a user's positives and negatives), so a profile is built
// once per run of equal users.
void ContentKnnScorer::score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                                   float* out) {
  const int dim = content_.dim;
  const size_t tasks = (count + kPairsPerTask - 1) / kPairsPerTask;
  std::vector<std::vector<float>> scratch(size_t(std::max(threads_, 1)));
  parallel_for(tasks, threads_, [&](size_t task, size_t worker) {
    std::vector<float>& p = scratch[worker];
    p.resize(size_t(dim));
    const size_t begin = task * kPairsPerTask, end = std::min(count, begin + kPairsPerTask);
    bool has_profile = false;
    for (size_t i = begin; i < end; ++i) {
      if (i == begin || users[i] != users[i - 1]) has_profile = profile(users[i], p.data());
      out[i] = has_profile ? dot(p.data(), content_.row(items[i]), dim) : 0.0f;
    }
  });
}

}  // namespace pixelrec::eval
