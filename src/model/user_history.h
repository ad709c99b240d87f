// model.user_history mean: each training user's last L distinct training items (by timestamp,
// latest first) in compressed sparse row form, built once per run. The dot scorer's user tower
// adds the mean of these items' ID embeddings to the user's ID embedding. Evaluation uses the
// training history only (val and test interactions are never pooled). For
// model.user_history_training preceding it also keeps every user's whole training timeline, so a
// training pair can pool the L distinct items before its positive instead. With
// model.user_history_decay d < 1 the pool is a weighted mean: the k-th latest pooled item
// (k = 0, 1, ...) weighs d^k, plus model.user_history_base_weight b (the long-term share: with
// b > 0 the pool is the recency-weighted mean plus b times the plain sum, over the total weight).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/split_data.h"

namespace pixelrec::model {

class UserHistory {
 public:
  // Users >= num_users (cold users) have an empty history.
  // The k-th latest pooled item weighs decay^k + base_weight. `timeline`: also keep every user's
  // whole training timeline, which gather_preceding and users_of_rows need (16 bytes and 4 more
  // per training row; model.user_history_training preceding).
  UserHistory(const IndexedInteractions& train, uint32_t num_users, int length, double decay = 1.0,
              double base_weight = 0.0, bool timeline = true);

  uint32_t num_users() const { return uint32_t(offsets_.size() - 1); }
  const int64_t* begin(uint32_t user) const { return items_.data() + offsets_[user]; }
  const int64_t* end(uint32_t user) const { return items_.data() + offsets_[user + 1]; }
  // Every item some history pools, ascending (int64 [n] on the CPU).
  torch::Tensor distinct_items() const;

  // The pooled items of `pairs` (users int64 [B] on the CPU; a user of `no_history` or beyond
  // num_users pools nothing), leaving out exclude[b] (int64 [B], or undefined) from pair b:
  // flat items [N], the pair each belongs to [N], each item's weight in its pair's pool (float
  // [N], decay^k + base_weight for the k-th latest) and each pair's total weight (float [B]; 0:
  // nothing).
  struct Gathered {
    torch::Tensor items, pair, weight, count;
  };
  Gathered gather(const torch::Tensor& users, const torch::Tensor& no_history,
                  const torch::Tensor& exclude) const;

  // Like gather, but pair b pools the latest L distinct items its user interacted with before
  // training row rows[b] (int64 [B]: the positive it belongs to; a row of users[b]), leaving
  // that row's own item out should the user have met it earlier too.
  Gathered gather_preceding(const torch::Tensor& users, const torch::Tensor& no_history,
                            const torch::Tensor& rows) const;
  // The user of each training row (int64 [n] on the CPU).
  torch::Tensor users_of_rows(const torch::Tensor& rows) const;

 private:
  int length_;
  std::vector<float> decay_powers_;  // [length]: decay^k + base_weight
  std::vector<int64_t> offsets_;     // [num_users + 1]
  std::vector<int64_t> items_;
  bool has_timeline_ = true;
  // Every training row, grouped by user, each group latest first; place_[row] is its index.
  std::vector<int64_t> timeline_offsets_, timeline_items_, place_;
  std::vector<uint32_t> row_user_;
  int64_t num_items_ = 0;  // 1 + the largest training item
};

}  // namespace pixelrec::model
