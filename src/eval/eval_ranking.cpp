// Negative sampling for the sampled task and ranking one user's scored candidates.
#include <algorithm>

#include "core/errors.h"
#include "core/rng.h"
#include "eval/eval_internal.h"

namespace pixelrec::eval::internal {

namespace {

constexpr uint64_t kNegativeStream = 0x6576616c6e6567ull;  // "evalneg": stream purpose key

// The t-th (0-based) item not in the sorted list `known`: t + (known items a[i] with a[i]-i <= t).
uint32_t unknown_item_at(uint64_t t, const uint32_t* known, size_t num_known) {
  size_t lo = 0, hi = num_known;  // a[i] - i is non-decreasing, so binary search
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (uint64_t(known[mid]) - mid <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return uint32_t(t + lo);
}

}  // namespace

size_t sample_negatives(uint32_t user, size_t count, uint64_t seed, const UserItemIndex& known,
                        uint32_t num_items, std::vector<uint8_t>& marks, uint32_t* out) {
  const uint32_t* known_items = known.begin(user);
  const size_t num_known = known.count(user);
  const uint64_t unknown = num_items - num_known;
  if (count >= unknown) {  // the whole non-known catalogue
    for (uint64_t t = 0; t < unknown; ++t) out[t] = unknown_item_at(t, known_items, num_known);
    return size_t(unknown);
  }
  // Floyd's algorithm: `count` distinct positions of [0, unknown) with exactly `count` draws.
  Rng rng = Rng::stream(seed, {kNegativeStream, user});
  size_t written = 0;
  for (uint64_t j = unknown - count; j < unknown; ++j) {
    uint64_t t = rng.below(j + 1);
    if (marks[t]) t = j;
    marks[t] = 1;
    out[written++] = uint32_t(t);
  }
  for (size_t i = 0; i < written; ++i) {
    marks[out[i]] = 0;
    out[i] = unknown_item_at(out[i], known_items, num_known);
  }
  return written;
}

size_t rank_candidates(const float* scores, const uint32_t* items, size_t n,
                       const uint32_t* excluded_begin, const uint32_t* excluded_end,
                       const RankOrder& order, const ScoredItem& best_relevant, size_t top_k,
                       std::vector<ScoredItem>& scratch, uint32_t* top_items, float* top_scores) {
  if (scratch.size() < n) scratch.resize(n);
  size_t m = 0;
  if (excluded_begin == excluded_end) {
    for (size_t j = 0; j < n; ++j)
      scratch[j] = {scores[j], items != nullptr ? items[j] : uint32_t(j)};
    m = n;
  } else {
    const uint32_t* excluded = excluded_begin;
    for (size_t j = 0; j < n; ++j) {
      const uint32_t item = items != nullptr ? items[j] : uint32_t(j);
      while (excluded != excluded_end && *excluded < item) ++excluded;  // both ascending
      if (excluded != excluded_end && *excluded == item) continue;
      scratch[m++] = {scores[j], item};
    }
  }
  PIXELREC_CHECK(top_k >= 1 && top_k <= m, "K exceeds the candidate count");
  size_t ahead = 0;
  for (size_t j = 0; j < m; ++j) ahead += order(scratch[j], best_relevant);
  const auto first = scratch.begin(), top_end = first + std::ptrdiff_t(top_k);
  if (top_k < m) std::nth_element(first, top_end, first + std::ptrdiff_t(m), order);
  std::sort(first, top_end, order);
  for (size_t j = 0; j < top_k; ++j) {
    top_items[j] = scratch[j].item;
    top_scores[j] = scratch[j].score;
  }
  return ahead;
}

}  // namespace pixelrec::eval::internal
