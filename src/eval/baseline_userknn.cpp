// UserKNN: user-user shrunk cosine over training item sets, k neighbour users per user; a user's
// score for an item sums the similarities of the neighbours who trained on it.
#include <algorithm>

#include "core/parallel.h"
#include "eval/baselines.h"
#include "eval/dense_row_scoring.h"

namespace pixelrec::eval {

namespace {

constexpr size_t kPairsPerTask = 2048;

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
  score_block_by_dense_rows(users, num_users, items, num_items, num_items_, threads_, out,
                            [this](uint32_t user, const auto& add) {
                              if (user >= neighbours_.rows()) return;
                              for (uint64_t e = neighbours_.offsets[user];
                                   e < neighbours_.offsets[user + 1]; ++e) {
                                const uint32_t v = neighbours_.index[e];
                                for (const uint32_t* i = train_.begin(v); i != train_.end(v); ++i)
                                  add(*i, neighbours_.similarity[e]);
                              }
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
