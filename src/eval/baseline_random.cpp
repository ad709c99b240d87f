// The random baseline: a per-(user, item) hash, so a score never depends on which call computes it.
#include <algorithm>

#include "core/parallel.h"
#include "core/rng.h"
#include "eval/baselines.h"

namespace pixelrec::eval {

namespace {

constexpr uint64_t kRandomBaselinePurpose = 0x72616e646f6dull;  // "random"
constexpr size_t kPairsPerTask = 4096;

}  // namespace

float RandomScorer::score(uint32_t user, uint32_t item) const {
  Rng rng = Rng::stream(seed_, {kRandomBaselinePurpose, user, item});
  // 24 random bits: exactly representable, so the float stays below 1 (a double would round up).
  return static_cast<float>(rng.next() >> 40) * 0x1.0p-24f;
}

void RandomScorer::score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                               size_t num_items, float* out) {
  parallel_for(num_users, threads_, [&](size_t u) {
    float* row = out + u * num_items;
    for (size_t j = 0; j < num_items; ++j) row[j] = score(users[u], items[j]);
  });
}

void RandomScorer::score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                               float* out) {
  const size_t tasks = (count + kPairsPerTask - 1) / kPairsPerTask;
  parallel_for(tasks, threads_, [&](size_t task) {
    const size_t end = std::min(count, (task + 1) * kPairsPerTask);
    for (size_t p = task * kPairsPerTask; p < end; ++p) out[p] = score(users[p], items[p]);
  });
}

}  // namespace pixelrec::eval
