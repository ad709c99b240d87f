// model.user_history mean: each training user's last L distinct training items (by timestamp,
// latest first) in compressed sparse row form, built once per run. The dot scorer's user tower
// adds the mean of these items' ID embeddings to the user's ID embedding. Evaluation uses the
// training history only (val and test interactions are never pooled).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/split_data.h"

namespace pixelrec::model {

class UserHistory {
 public:
  // Users >= num_users (cold users) have an empty history.
  UserHistory(const IndexedInteractions& train, uint32_t num_users, int length);

  uint32_t num_users() const { return uint32_t(offsets_.size() - 1); }
  const int64_t* begin(uint32_t user) const { return items_.data() + offsets_[user]; }
  const int64_t* end(uint32_t user) const { return items_.data() + offsets_[user + 1]; }
  // Every item some history pools, ascending (int64 [n] on the CPU).
  torch::Tensor distinct_items() const;

  // The pooled items of `pairs` (users int64 [B] on the CPU; a user of `no_history` or beyond
  // num_users pools nothing), leaving out exclude[b] (int64 [B], or undefined) from pair b:
  // flat items [N], the pair each belongs to [N] and each pair's count (float [B]).
  struct Gathered {
    torch::Tensor items, pair, count;
  };
  Gathered gather(const torch::Tensor& users, const torch::Tensor& no_history,
                  const torch::Tensor& exclude) const;

 private:
  std::vector<int64_t> offsets_;  // [num_users + 1]
  std::vector<int64_t> items_;
};

}  // namespace pixelrec::model
