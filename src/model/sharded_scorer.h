// Scoring when each rank holds only its shard of the item features: every rank is asked the same
// pairs (or block), scores the ones whose item is in its shard, leaves the others 0 and an
// allreduce-sum assembles the full answer on every rank. Used by per-epoch validation, so the
// feature memory of a rank stays ~1/N of the store while metrics equal the one-process values.
#pragma once

#include <vector>

#include "dist/communicator.h"
#include "eval/scorer.h"
#include "model/model_scorer.h"

namespace pixelrec::model {

class ShardedScorer : public eval::Scorer {
 public:
  ShardedScorer(Recommender& model, const ItemFeatures& shard, dist::Communicator& comm);

  std::string name() const override { return "multimodal"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override;
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count, float* out) override;

 private:
  bool owns(uint32_t item) const {
    return int64_t(item) >= first_ && int64_t(item) < first_ + count_;
  }

  ModelScorer local_;
  dist::Communicator& comm_;
  int64_t first_, count_;
  std::vector<uint32_t> users_, items_;
  std::vector<size_t> positions_;
  std::vector<float> scores_;
};

}  // namespace pixelrec::model
