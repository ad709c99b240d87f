// The trained model as an eval::Scorer. With concat fusion the first head layer is split: its
// item-side part is computed once per item (cached for the whole catalogue) and its user-side part
// once per user, so a user × item block costs only the rest of the head per pair. With
// model.scorer dot the item tower runs once per item (cached) and the user tower once per user,
// and a block is one matrix product (model_scorer_dot.cpp).
#pragma once

#include <torch/torch.h>

#include "eval/scorer.h"
#include "model/recommender.h"

namespace pixelrec::model {

class ModelScorer : public eval::Scorer {
 public:
  // `final_activation`: apply model.final_activation to scores (recommendations); evaluation
  // ranks raw logits (same order). pair_batch bounds the pairs of one forward pass.
  ModelScorer(Recommender& model, const ItemFeatures& features, bool final_activation = false,
              int64_t pair_batch = 1 << 9);

  std::string name() const override { return "multimodal"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override;
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count, float* out) override;

 private:
  torch::Tensor scores_of(const torch::Tensor& logits) const;
  // [features.count, H1] with the first BatchNorm folded in, computed (and folded_ set) on first
  // use: the model must not change during this scorer's life.
  const torch::Tensor& item_parts();
  // Scorer dot: the item tower's vectors of every item of the features, [count, D], on first use.
  const torch::Tensor& item_vectors();
  void score_block_dot(const uint32_t* users, size_t num_users, const uint32_t* items,
                       size_t num_items, float* out);
  void score_pairs_dot(const uint32_t* users, const uint32_t* items, size_t count, float* out);
  torch::Tensor activated_(torch::Tensor scores) const;  // scores_of, in place

  Recommender& model_;
  const ItemFeatures& features_;
  bool final_activation_;
  int64_t pair_batch_;
  torch::Tensor item_parts_, item_vectors_;
  NetworkImpl::FoldedHead folded_;
};

// One rank's share of item-sharded evaluation (eval::Scorer::item_shard): scores only the items
// of its features, [first_item, first_item + count); evaluate() merges the ranks' shards exactly.
class ItemShardScorer final : public ModelScorer {
 public:
  ItemShardScorer(Recommender& model, const ItemFeatures& features, bool final_activation = false)
      : ModelScorer(model, features, final_activation),
        shard_{uint32_t(features.first_item), uint32_t(features.first_item + features.count)} {}
  std::optional<eval::ItemShard> item_shard() const override { return shard_; }

 private:
  eval::ItemShard shard_;
};

// Wraps a uint32 index array as an int64 tensor (copy).
torch::Tensor index_tensor(const uint32_t* values, size_t count);

}  // namespace pixelrec::model
