#include "model/ranking_losses.h"

#include <limits>

namespace pixelrec::model {

torch::Tensor bpr_loss(const torch::Tensor& logits, int64_t positives, const torch::Tensor& owner) {
  const int64_t negatives = logits.size(0) - positives;
  if (negatives <= 0) return logits.sum() * 0.0;  // keeps the graph (ranks run equal backwards)
  const torch::Tensor negative = logits.narrow(0, positives, negatives);
  const torch::Tensor positive = logits.index_select(0, owner.narrow(0, positives, negatives));
  // -log sigmoid(p - n) = softplus(n - p), stable for large differences.
  return torch::softplus(negative - positive).mean();
}

torch::Tensor grouped_softmax_loss(const torch::Tensor& logits, int64_t positives,
                                   const torch::Tensor& owner, const torch::Tensor& log_q) {
  if (positives == 0) return logits.sum() * 0.0;
  const torch::Tensor corrected = logits - log_q;
  // Per-group log-sum-exp, shifted by the group's maximum (a constant: no gradient needed).
  const torch::Tensor shift =
      torch::full({positives}, -std::numeric_limits<float>::infinity(), corrected.options())
          .scatter_reduce(0, owner, corrected.detach(), "amax");
  const torch::Tensor sums =
      torch::zeros({positives}, corrected.options())
          .index_add(0, owner, (corrected - shift.index_select(0, owner)).exp());
  const torch::Tensor log_sum_exp = shift + sums.log();
  return (log_sum_exp - corrected.narrow(0, 0, positives)).mean();
}

torch::Tensor in_batch_softmax_loss(const torch::Tensor& users, const torch::Tensor& items,
                                    const torch::Tensor& temperature, const torch::Tensor& item_ids,
                                    const torch::Tensor& log_q) {
  const int64_t p = users.size(0);
  if (p == 0) return (users.sum() + items.sum()) * 0.0;
  const auto index = torch::TensorOptions(torch::kLong).device(users.device());
  const torch::Tensor rows = torch::arange(p, index);
  const torch::Tensor same_item = item_ids.narrow(0, 0, p).unsqueeze(1).eq(item_ids.unsqueeze(0));
  const torch::Tensor hit =
      same_item.index_put({rows, rows}, torch::zeros({}, same_item.options()));
  // The temperature scales the [P, D] rows and log q enters as addmm's bias: the [P, G] matrix
  // is touched only by the product, the mask and the cross-entropy.
  const torch::Tensor logits = torch::addmm(-log_q.unsqueeze(0), users / temperature, items.t())
                                   .masked_fill(hit, -std::numeric_limits<float>::infinity());
  return torch::nn::functional::cross_entropy(logits, rows);
}

}  // namespace pixelrec::model
