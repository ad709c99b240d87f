// ItemKNN: item-item shrunk cosine over training user sets, k neighbours per item; a user's score
// for an item sums the similarities from the user's training items that list it as a neighbour.
#include <algorithm>

#include "core/parallel.h"
#include "eval/baselines.h"
#include "eval/dense_row_scoring.h"

namespace pixelrec::eval {

namespace {

constexpr size_t kPairsPerTask = 2048;

}  // namespace

ItemKnnScorer::ItemKnnScorer(const UserItemIndex& train, uint32_t num_items, int k,
                             double shrinkage, int threads)
    : train_(train), num_items_(num_items), threads_(threads) {
  const UserItemIndex item_users = transpose(train, num_items);
  neighbours_ = top_k_cosine_neighbours(item_users, train, k, shrinkage, threads);
}

// User-major: the user's items' neighbour lists are added into a dense catalogue row, then the
// requested items are gathered. Additions happen in training-item order, as in score_pairs.
void ItemKnnScorer::score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                                size_t num_items, float* out) {
  score_block_by_dense_rows(
      users, num_users, items, num_items, num_items_, threads_, out,
      [this](uint32_t user, const auto& add) {
        if (user >= train_.num_users()) return;
        for (const uint32_t* j = train_.begin(user); j != train_.end(user); ++j)
          for (uint64_t e = neighbours_.offsets[*j]; e < neighbours_.offsets[*j + 1]; ++e)
            add(neighbours_.index[e], neighbours_.similarity[e]);
      });
}

void ItemKnnScorer::score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                                float* out) {
  const size_t tasks = (count + kPairsPerTask - 1) / kPairsPerTask;
  parallel_for(tasks, threads_, [&](size_t task) {
    const size_t end = std::min(count, (task + 1) * kPairsPerTask);
    for (size_t p = task * kPairsPerTask; p < end; ++p) {
      double sum = 0.0;
      if (users[p] < train_.num_users())
        for (const uint32_t* j = train_.begin(users[p]); j != train_.end(users[p]); ++j)
          sum += neighbours_.find(*j, items[p]);
      out[p] = float(sum);
    }
  });
}

}  // namespace pixelrec::eval
