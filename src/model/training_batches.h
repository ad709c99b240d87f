// The training examples of one epoch: the rank's positives in a shuffled order, each followed by
// its freshly drawn negatives (SPEC §6), cut into micro-batches gathered with index copies only.
// Deterministic per (seed, epoch, rank): a resumed run sees exactly the same batches.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/negative_sampler.h"

namespace pixelrec::model {

struct Batch {
  torch::Tensor users, items;  // int64 [n]
  torch::Tensor labels;        // float [n]: 1 positive, 0 negative
  int64_t positives = 0;
};

class EpochBatches {
 public:
  // positives: (user, item) pairs of this rank; ratio: negatives per positive.
  EpochBatches(std::vector<uint32_t> users, std::vector<uint32_t> items,
               const NegativeSampler& sampler, double ratio, uint64_t seed, int rank, int threads);

  // Shuffles the positives and redraws their negatives for `epoch`.
  void start_epoch(int epoch);
  int64_t count(int64_t batch_size) const;  // micro-batches per epoch
  Batch batch(int64_t index, int64_t batch_size) const;
  size_t positives() const { return users_.size(); }
  size_t negatives() const { return draw_.item.size(); }
  size_t skipped_negatives() const { return draw_.skipped; }

 private:
  std::vector<uint32_t> users_, items_;
  const NegativeSampler& sampler_;
  double ratio_;
  uint64_t seed_;
  int rank_, threads_;
  std::vector<uint32_t> order_;        // permutation of the positives
  std::vector<uint32_t> order_users_;  // users_[order_[p]]
  NegativeDraw draw_;
  std::vector<size_t> negative_begin_;  // per ordered positive + 1: offsets into draw_
};

}  // namespace pixelrec::model
