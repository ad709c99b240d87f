// The training examples of one epoch (SPEC §6): all positives in a shuffled order, each followed
// by its freshly drawn negatives, cut into global batches. The order and the negatives depend only
// on (seed, epoch), never on the number of ranks: every rank derives the same global batches and
// keeps the pairs whose item lies in its shard of the store, so N ranks together process exactly
// the batch one process would. Batches are gathered with index copies only.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/negative_sampler.h"
#include "features/shard_plan.h"

namespace pixelrec::model {

struct Batch {
  torch::Tensor users, items;   // int64 [n]: this rank's pairs of the global batch
  torch::Tensor labels;         // float [n]: 1 positive, 0 negative
  torch::Tensor positions;      // int64 [n]: each pair's place in the global batch (dropout keys)
  torch::Tensor positive_rows;  // int64 [n]: the training row of the positive each pair belongs to
  int64_t global_pairs = 0;     // pairs of the whole global batch (all ranks): the loss divisor
  // The whole global batch (equal on every rank) for the losses that compare pairs
  // (model/ranking_losses.h): positives at places [0, global_positives), then the negatives;
  // owner[g] = the place of the positive pair g belongs to (g itself for a positive).
  int64_t global_positives = 0;
  torch::Tensor global_items, global_owner;  // int64 [global_pairs]
};

class EpochBatches {
 public:
  // users/items: every training positive; sampler: over every training item; shard: the items
  // this rank trains on.
  EpochBatches(std::vector<uint32_t> users, std::vector<uint32_t> items,
               const NegativeSampler& sampler, double ratio, uint64_t seed,
               features::ItemRange shard, int threads);

  // Shuffles the positives and redraws their negatives for `epoch`.
  void start_epoch(int epoch);
  int64_t count(int64_t batch_size) const;  // global batches per epoch (equal on every rank)
  Batch batch(int64_t index, int64_t batch_size) const;
  size_t positives() const { return users_.size(); }
  size_t shard_positives() const;
  size_t skipped_negatives() const { return draw_.skipped; }

 private:
  std::vector<uint32_t> users_, items_;
  const NegativeSampler& sampler_;
  double ratio_;
  uint64_t seed_;
  features::ItemRange shard_;
  int threads_;
  std::vector<uint32_t> order_;        // permutation of the positives
  std::vector<uint32_t> order_users_;  // users_[order_[p]]
  NegativeDraw draw_;
  std::vector<size_t> negative_begin_;  // per ordered positive + 1: offsets into draw_
};

}  // namespace pixelrec::model
