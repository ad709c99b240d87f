// model.scorer dot: the two towers and their similarity. Item-side work (projections, fusion,
// the tower's output layer) runs once per distinct item, so full ranking is one matrix product of
// user vectors with the cached item vectors (model/model_scorer.cpp).
#include <cmath>

#include "model/network.h"

namespace pixelrec::model {
namespace {

constexpr double kMinDotTemperature = 0.01;
constexpr double kMaxDotTemperature = 100.0;

torch::Tensor unit_rows(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::normalize(x, F::NormalizeFuncOptions().dim(1).eps(1e-8));
}

}  // namespace

torch::Tensor NetworkImpl::user_vectors(const torch::Tensor& user_tokens) const {
  return spec_.config.dot_similarity == "cosine" ? unit_rows(user_tokens) : user_tokens;
}

torch::Tensor NetworkImpl::item_vectors(const ItemSide& side) {
  // Absent modalities are zeroed (concat) or masked out of the gate / attention, as in the head.
  std::vector<torch::Tensor> tokens;
  for (size_t k = 0; k < side.tokens.size(); ++k) tokens.push_back(masked(side, k));
  torch::Tensor fused;
  if (spec_.config.fusion_type == "concat") {
    fused = torch::cat(tokens, 1);
  } else {
    const auto ones = torch::ones({tokens.front().size(0)}, tokens.front().options());
    std::vector<torch::Tensor> present;
    for (const auto& mask : side.masks) present.push_back(mask.defined() ? mask : ones);
    fused = fuse_stacked(torch::stack(tokens, 1), torch::stack(present, 1));
  }
  const torch::Tensor v = item_out_->forward(fused);
  return spec_.config.dot_similarity == "cosine" ? unit_rows(v) : v;
}

torch::Tensor NetworkImpl::dot_temperature() const {
  return dot_log_temperature_.clamp(std::log(kMinDotTemperature), std::log(kMaxDotTemperature))
      .exp();
}

torch::Tensor NetworkImpl::dot_logits(const torch::Tensor& users,
                                      const torch::Tensor& items) const {
  return (users * items).sum(1) / dot_temperature();
}

}  // namespace pixelrec::model
