#include "model/embedding_table.h"

#include "core/errors.h"
#include "model/network.h"

namespace pixelrec::model {

EmbeddingTable::EmbeddingTable(std::string name, int64_t rows, int64_t dim, const std::string& init)
    : name_(std::move(name)) {
  weight_ = torch::empty({rows, dim});
  init_weight(weight_, init);
  moment1_ = torch::zeros({rows, dim});
  moment2_ = torch::zeros({rows, dim});
  row_steps_ = torch::zeros({rows}, torch::kLong);
}

torch::Tensor EmbeddingTable::lookup(const torch::Tensor& indices) {
  if (!torch::GradMode::is_enabled()) return weight_.index_select(0, indices);
  const auto [rows, inverse] = torch::_unique(indices, /*sorted=*/true, /*return_inverse=*/true);
  torch::Tensor leaf = weight_.index_select(0, rows).requires_grad_(true);
  pending_.push_back({rows, leaf});
  return leaf.index_select(0, inverse);
}

std::pair<torch::Tensor, torch::Tensor> EmbeddingTable::gradient() const {
  std::vector<torch::Tensor> rows, grads;
  for (const auto& p : pending_) {
    if (!p.leaf.grad().defined()) continue;
    rows.push_back(p.rows);
    grads.push_back(p.leaf.grad());
  }
  if (rows.empty()) return {};
  if (rows.size() == 1) return {rows[0], grads[0]};
  // Several micro-batches (gradient accumulation): sum the gradients of repeated rows.
  const auto [merged, inverse] =
      torch::_unique(torch::cat(rows), /*sorted=*/true, /*return_inverse=*/true);
  torch::Tensor grad = torch::zeros({merged.size(0), weight_.size(1)}, weight_.options());
  grad.index_add_(0, inverse, torch::cat(grads));
  return {merged, grad};
}

void EmbeddingTable::step(const std::pair<torch::Tensor, torch::Tensor>& gradient,
                          const RowOptimizerOptions& o, double lr, double grad_scale) {
  const auto& [rows, raw_grad] = gradient;
  if (!rows.defined()) return;
  torch::NoGradGuard no_grad;
  torch::Tensor g = grad_scale == 1.0 ? raw_grad : raw_grad * grad_scale;
  torch::Tensor w = weight_.index_select(0, rows);
  torch::Tensor steps = row_steps_.index_select(0, rows) + 1;
  row_steps_.index_copy_(0, rows, steps);
  if (o.type == "sgd") {
    if (o.weight_decay != 0) g = g + o.weight_decay * w;
    torch::Tensor buf = moment1_.index_select(0, rows);
    // PyTorch SGD: the first step's buffer is the gradient itself.
    buf = torch::where(steps.eq(1).unsqueeze(1), g, o.momentum * buf + g);
    moment1_.index_copy_(0, rows, buf);
    w -= lr * (o.momentum != 0 ? buf : g);
  } else {
    if (o.type == "adam" && o.weight_decay != 0) g = g + o.weight_decay * w;
    if (o.type == "adamw") w *= (1.0 - lr * o.weight_decay);
    torch::Tensor m = moment1_.index_select(0, rows).mul_(o.beta1).add_(g, 1.0 - o.beta1);
    torch::Tensor v = moment2_.index_select(0, rows).mul_(o.beta2).addcmul_(g, g, 1.0 - o.beta2);
    moment1_.index_copy_(0, rows, m);
    moment2_.index_copy_(0, rows, v);
    const torch::Tensor t = steps.to(torch::kDouble);
    const torch::Tensor bc1 = (1.0 - torch::pow(o.beta1, t)).to(w.scalar_type()).unsqueeze(1);
    const torch::Tensor bc2 = (1.0 - torch::pow(o.beta2, t)).to(w.scalar_type()).unsqueeze(1);
    const torch::Tensor denom = (v.sqrt() / bc2.sqrt()).add_(o.eps);
    w -= (lr / bc1) * m / denom;
  }
  weight_.index_copy_(0, rows, w);
}

void EmbeddingTable::to(const torch::Device& device) {
  PIXELREC_CHECK(pending_.empty(), "moving a table with pending gradients");
  for (auto& [name, tensor] : state_tensors()) *tensor = tensor->to(device);
}

void EmbeddingTable::keep_rows(const torch::Tensor& rows) {
  PIXELREC_CHECK(pending_.empty(), "keep_rows with pending gradients");
  for (auto& [name, tensor] : state_tensors()) *tensor = tensor->index_select(0, rows);
}

std::vector<std::pair<std::string, torch::Tensor*>> EmbeddingTable::state_tensors() {
  return {{name_ + ".weight", &weight_},
          {name_ + ".moment1", &moment1_},
          {name_ + ".moment2", &moment2_},
          {name_ + ".row_steps", &row_steps_}};
}

}  // namespace pixelrec::model
