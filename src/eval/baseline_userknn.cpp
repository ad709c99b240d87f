// UserKNN: user-user shrunk cosine over training item sets, k neighbour users per user; a user's
// score for an item sums the similarities of the neighbours who trained on it.
#include <algorithm>

#include "core/parallel.h"
#include "eval/baselines.h"

namespace pixelrec::eval {

namespace {

constexpr size_t kPairsPerTask = 2048;

struct DenseScratch {
  std::vector<double> sums;  // per catalogue item
  std::vector<uint32_t> touched;
};

}  // namespace

UserKnnScorer::UserKnnScorer(const UserItemIndex& train, uint32_t num_items, int k,
                             double shrinkage, int threads)
    : train_(train), num_items_(num_items), threads_(threads) {
  // Cold users have no training items, so they are rows without neighbours either way.
  const UserItemIndex item_users = transpose(train, num_items);
  neighbours_ = top_k_cosine_neighbours(train, item_users, k, shrinkage, threads);
}

// User-major: neighbours' training items are added into a dense catalogue row (neighbours in
// index order, as in score_pairs), then the requested items are gathered.
void UserKnnScorer::score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                                size_t num_items, float* out) {
  std::vector<DenseScratch> scratch(size_t(std::max(threads_, 1)));
  parallel_for(num_users, threads_, [&](size_t u, size_t worker) {
    DenseScratch& s = scratch[worker];
    if (s.sums.empty()) s.sums.assign(num_items_, 0.0);
    const uint32_t user = users[u];
    if (user < neighbours_.rows())
      for (uint64_t e = neighbours_.offsets[user]; e < neighbours_.offsets[user + 1]; ++e) {
        const uint32_t v = neighbours_.index[e];
        const double sim = neighbours_.similarity[e];
        for (const uint32_t* i = train_.begin(v); i != train_.end(v); ++i) {
          if (s.sums[*i] == 0.0) s.touched.push_back(*i);  // similarities are > 0
          s.sums[*i] += sim;
        }
      }
    float* row = out + u * num_items;
    for (size_t j = 0; j < num_items; ++j) row[j] = float(s.sums[items[j]]);
    for (uint32_t i : s.touched) s.sums[i] = 0.0;
    s.touched.clear();
  });
}

void UserKnnScorer::score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                                float* out) {
  const size_t tasks = (count + kPairsPerTask - 1) / kPairsPerTask;
  parallel_for(tasks, threads_, [&](size_t task) {
    const size_t end = std::min(count, (task + 1) * kPairsPerTask);
    for (size_t p = task * kPairsPerTask; p < end; ++p) {
      double sum = 0.0;
      const uint32_t user = users[p];
      if (user < neighbours_.rows())
        for (uint64_t e = neighbours_.offsets[user]; e < neighbours_.offsets[user + 1]; ++e)
          if (train_.contains(neighbours_.index[e], items[p])) sum += neighbours_.similarity[e];
      out[p] = float(sum);
    }
  });
}

}  // namespace pixelrec::eval
