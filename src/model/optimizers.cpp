#include "model/optimizers.h"

#include <cmath>

#include "core/errors.h"
#include "core/hash.h"
#include "model/gradient_sync.h"
#include "model/recommender.h"

namespace pixelrec::model {

namespace {

// Two groups: weight matrices (decayed) and every parameter of fewer than 2 dimensions (biases,
// norm weights, the log-temperature: not decayed, as common practice does). The group order is
// fixed, so optimizer state saved in a checkpoint loads back into the same groups.
template <typename Options>
std::vector<torch::optim::OptimizerParamGroup> decay_groups(std::vector<torch::Tensor> params,
                                                            const Options& options) {
  std::vector<torch::Tensor> decayed, not_decayed;
  for (auto& p : params) (p.dim() >= 2 ? decayed : not_decayed).push_back(std::move(p));
  auto no_decay = std::make_unique<Options>(options);
  no_decay->weight_decay(0.0);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::move(decayed), std::make_unique<Options>(options));
  groups.emplace_back(std::move(not_decayed), std::move(no_decay));
  return groups;
}

template <typename Optimizer, typename Options>
std::unique_ptr<torch::optim::Optimizer> grouped(std::vector<torch::Tensor> params,
                                                 const Options& options) {
  return std::make_unique<Optimizer>(decay_groups(std::move(params), options), options);
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_dense_optimizer(const TrainingConfig& t,
                                                              std::vector<torch::Tensor> params) {
  if (t.optimizer_type == "adam")
    return grouped<torch::optim::Adam>(std::move(params), torch::optim::AdamOptions(t.learning_rate)
                                                              .betas({t.adam_beta1, t.adam_beta2})
                                                              .eps(t.adam_eps)
                                                              .weight_decay(t.weight_decay));
  if (t.optimizer_type == "adamw")
    return grouped<torch::optim::AdamW>(std::move(params),
                                        torch::optim::AdamWOptions(t.learning_rate)
                                            .betas({t.adam_beta1, t.adam_beta2})
                                            .eps(t.adam_eps)
                                            .weight_decay(t.weight_decay));
  if (t.optimizer_type == "sgd")
    return grouped<torch::optim::SGD>(std::move(params), torch::optim::SGDOptions(t.learning_rate)
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

namespace {

double squared_norm(const RowGradient& rows) {
  return rows.second.defined() ? rows.second.pow(2).sum().item<double>() : 0.0;
}

// (gradient without `row`, gradient of `row` alone); rows are ascending, so `row` (the table's
// last) can only be the last entry.
std::pair<RowGradient, RowGradient> split_off_row(const RowGradient& g, int64_t row) {
  if (!g.first.defined()) return {};
  const int64_t n = g.first.size(0);
  if (g.first[n - 1].item<int64_t>() != row) return {g, {}};
  return {{g.first.narrow(0, 0, n - 1), g.second.narrow(0, 0, n - 1)},
          {g.first.narrow(0, n - 1, 1), g.second.narrow(0, n - 1, 1)}};
}

}  // namespace

double global_grad_norm(const std::vector<torch::Tensor>& params,
                        const std::vector<RowGradient>& rows, double extra_squared_norm) {
  double sum = extra_squared_norm;
  for (const auto& p : params)
    if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
  for (const auto& r : rows) sum += squared_norm(r);
  return std::sqrt(sum);
}

double clip_gradients(const std::vector<torch::Tensor>& params,
                      const std::vector<RowGradient>& rows, double clip,
                      double extra_squared_norm) {
  if (clip <= 0) return 1.0;
  const double norm = global_grad_norm(params, rows, extra_squared_norm);
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
  // Row gradients per table, the same on every rank once merged (an item-sharded table: its
  // unknown row only), and the item shard's own rows, which need no communication.
  std::vector<RowGradient> rows;
  RowGradient shard_rows;
  const bool distributed = sync && sync->active();
  if (distributed) sync->allreduce_dense(dense_params);
  std::vector<size_t> replicated;  // indices into rows of the tables merged across ranks
  std::vector<int64_t> dims, table_rows;
  for (auto* table : model.tables()) {
    RowGradient g = table->gradient();
    const int64_t dim = table->weight().size(1);
    if (distributed && table == &model.item_table() && model.items_sharded()) {
      const int64_t unknown_row = table->rows() - 1;
      auto [own, unknown] = split_off_row(g, unknown_row);
      shard_rows = std::move(own);
      g = sync->merge_shared_row(unknown, unknown_row, dim);
    } else if (distributed) {
      replicated.push_back(rows.size());
      dims.push_back(dim);
      table_rows.push_back(table->rows());
    }
    rows.push_back(std::move(g));
  }
  // The clipping norm covers every rank's shard rows: their squared norms are summed in the
  // exchange, which also agrees on a pending signal.
  double shard_squared = squared_norm(shard_rows);
  if (distributed) {
    std::vector<RowGradient> local;
    for (size_t k : replicated) local.push_back(rows[k]);
    const auto exchange =
        sync->exchange_rows(local, dims, table_rows, shard_squared, sync->noted_signal());
    for (size_t k = 0; k < replicated.size(); ++k) rows[replicated[k]] = exchange.merged[k];
    shard_squared = exchange.shard_squared_norm;
    sync->set_agreed_signal(exchange.signal);
  }
  const double scale = clip_gradients(dense_params, rows, clip, shard_squared);
  dense.step();
  const auto tables = model.tables();
  for (size_t t = 0; t < rows.size(); ++t) tables[t]->step(rows[t], row_options, lr, scale);
  model.item_table().step(shard_rows, row_options, lr, scale);
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
    const torch::Tensor c = t.to(torch::kCPU).contiguous();
    h.add(std::string_view(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size()));
  };
  for (const auto& p : model.network()->named_parameters()) add(p.value());
  for (const auto& b : model.network()->named_buffers()) add(b.value());
  for (auto* table : model.tables())
    for (auto& [name, tensor] : table->state_tensors()) add(*tensor);
  return h.hex();
}

}  // namespace pixelrec::model
