// The ranking loss of one training batch (training.loss × model.scorer), as this rank's share:
// its gradient, summed over ranks, is the one-process gradient of the global batch, and the
// reported values summed over ranks are the global batch's loss. bce sums this rank's pairs;
// bpr and softmax compare pairs of different ranks, so every rank gathers the global batch's
// logits (or tower vectors) and computes the whole loss, each keeping the gradient of its rows.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/negative_sampler.h"
#include "distributed/torch/tensor_collectives.h"
#include "model/recommender.h"
#include "model/training_batches.h"

namespace pixelrec::model {

struct BatchLossValue {
  torch::Tensor loss;   // this rank's part (backward on it)
  double reported = 0;  // this rank's share of the global batch's mean loss
};

class BatchLoss {
 public:
  enum class Kind { kBce, kBpr, kSoftmax };  // training.loss
  // item_counts: training interactions per item (in-batch items are drawn ∝ them); sampler: how
  // the negatives are drawn. Both give the logQ correction of softmax, kept on `device` (the
  // model's). Throws ConfigError for a loss other than bce, bpr or softmax.
  BatchLoss(const std::string& loss, const std::vector<int64_t>& item_counts,
            const NegativeSampler& sampler, const torch::Device& device = torch::kCPU);

  BatchLossValue operator()(Recommender& model, const Batch& batch, const ItemFeatures& features,
                            ItemSide* side, const BatchDraws& draws, dist::TensorCollectives* ranks,
                            int rank) const;

  // log of the sampling probability of each item: as an in-batch positive (∝ training count) and
  // as a sampled negative (the sampler's probability); -inf where never drawn.
  const torch::Tensor& log_q_in_batch() const { return log_q_in_batch_; }
  const torch::Tensor& log_q_negative() const { return log_q_negative_; }

 private:
  Kind kind_;
  torch::Tensor log_q_in_batch_, log_q_negative_;  // float [num_items] on the model's device
};

}  // namespace pixelrec::model
