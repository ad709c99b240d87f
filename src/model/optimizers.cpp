#include "model/optimizers.h"

#include <cmath>

#include "core/errors.h"
#include "core/hash.h"
#include "model/gradient_sync.h"
#include "model/recommender.h"

namespace pixelrec::model {

std::unique_ptr<torch::optim::Optimizer> make_dense_optimizer(const TrainingConfig& t,
                                                              std::vector<torch::Tensor> params) {
  if (t.optimizer_type == "adam")
    return std::make_unique<torch::optim::Adam>(std::move(params),
                                                torch::optim::AdamOptions(t.learning_rate)
                                                    .betas({t.adam_beta1, t.adam_beta2})
                                                    .eps(t.adam_eps)
                                                    .weight_decay(t.weight_decay));
  if (t.optimizer_type == "adamw")
    return std::make_unique<torch::optim::AdamW>(std::move(params),
                                                 torch::optim::AdamWOptions(t.learning_rate)
                                                     .betas({t.adam_beta1, t.adam_beta2})
                                                     .eps(t.adam_eps)
                                                     .weight_decay(t.weight_decay));
  if (t.optimizer_type == "sgd")
    return std::make_unique<torch::optim::SGD>(std::move(params),
                                               torch::optim::SGDOptions(t.learning_rate)
                                                   .momentum(t.sgd_momentum)
                                                   .weight_decay(t.weight_decay));
  throw ConfigError("training.optimizer_type: unknown optimizer '" + t.optimizer_type +
                    "'; use adam, adamw or sgd");
}

RowOptimizerOptions row_optimizer_options(const TrainingConfig& t) {
  RowOptimizerOptions o;
  o.type = t.optimizer_type;
  o.weight_decay = t.weight_decay;
  o.beta1 = t.adam_beta1;
  o.beta2 = t.adam_beta2;
  o.eps = t.adam_eps;
  o.momentum = t.sgd_momentum;
  return o;
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double global_grad_norm(const std::vector<torch::Tensor>& params,
                        const std::vector<RowGradient>& rows) {
  double sum = 0.0;
  for (const auto& p : params)
    if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
  for (const auto& [index, grad] : rows)
    if (grad.defined()) sum += grad.pow(2).sum().item<double>();
  return std::sqrt(sum);
}

double clip_gradients(const std::vector<torch::Tensor>& params,
                      const std::vector<RowGradient>& rows, double clip) {
  if (clip <= 0) return 1.0;
  const double norm = global_grad_norm(params, rows);
  if (!(norm > clip)) return 1.0;
  const double scale = clip / (norm + 1e-6);
  torch::NoGradGuard no_grad;
  for (const auto& p : params)
    if (p.grad().defined()) p.grad().mul_(scale);
  return scale;
}

void optimizer_step(Recommender& model, torch::optim::Optimizer& dense,
                    const std::vector<torch::Tensor>& dense_params,
                    const RowOptimizerOptions& row_options, double lr, double clip,
                    GradientSync* sync) {
  set_learning_rate(dense, lr);
  std::vector<RowGradient> rows;
  for (auto* table : model.tables()) rows.push_back(table->gradient());
  if (sync && sync->active()) {
    sync->allreduce_dense(dense_params);
    for (size_t t = 0; t < rows.size(); ++t)
      rows[t] = sync->merge_rows(rows[t], model.tables()[t]->weight().size(1));
  }
  const double scale = clip_gradients(dense_params, rows, clip);
  dense.step();
  for (size_t t = 0; t < rows.size(); ++t) model.tables()[t]->step(rows[t], row_options, lr, scale);
  dense.zero_grad();
  for (auto* table : model.tables()) table->zero_grad();
}

std::vector<torch::Tensor> dense_parameters(Recommender& model) {
  std::vector<torch::Tensor> params;
  for (const auto& p : model.network()->parameters())
    if (p.requires_grad()) params.push_back(p);
  return params;
}

std::string parameter_digest(Recommender& model) {
  Hasher h;
  const auto add = [&h](const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    h.add(std::string_view(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size()));
  };
  for (const auto& p : model.network()->named_parameters()) add(p.value());
  for (const auto& b : model.network()->named_buffers()) add(b.value());
  for (auto* table : model.tables())
    for (auto& [name, tensor] : table->state_tensors()) add(*tensor);
  return h.hex();
}

}  // namespace pixelrec::model
