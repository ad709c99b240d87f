// Dense optimizers (training.optimizer_type) for the network's parameters, learning-rate
// updates, and gradient clipping by the global norm over dense AND sparse (embedding) gradients.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <utility>
#include <vector>

#include "core/config.h"
#include "model/embedding_table.h"

namespace pixelrec::model {

std::unique_ptr<torch::optim::Optimizer> make_dense_optimizer(const TrainingConfig& training,
                                                              std::vector<torch::Tensor> params);
RowOptimizerOptions row_optimizer_options(const TrainingConfig& training);
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

using RowGradient = std::pair<torch::Tensor, torch::Tensor>;

// Global L2 norm of the dense parameters' gradients, the tables' row gradients and
// `extra_squared_norm` (the squared norm of row gradients held by other ranks: item shards).
double global_grad_norm(const std::vector<torch::Tensor>& params,
                        const std::vector<RowGradient>& rows, double extra_squared_norm = 0.0);
// Scales dense gradients in place and returns the factor for the row gradients (1 when
// clip <= 0 or the norm is within it).
double clip_gradients(const std::vector<torch::Tensor>& params,
                      const std::vector<RowGradient>& rows, double clip,
                      double extra_squared_norm = 0.0);

class Recommender;
class GradientSync;

// One optimizer step over the gradients accumulated since the last one: synchronisation across
// ranks (when `sync` is given), global-norm clipping over dense and row gradients, the dense
// optimizer, the tables' sparse updates, then zeroing.
void optimizer_step(Recommender& model, torch::optim::Optimizer& dense,
                    const std::vector<torch::Tensor>& dense_params,
                    const RowOptimizerOptions& row_options, double lr, double clip,
                    GradientSync* sync = nullptr);

// Trainable dense parameters of the model's network.
std::vector<torch::Tensor> dense_parameters(Recommender& model);

// A digest of every parameter, table and optimizer-state tensor's bytes: equal digests mean
// bitwise-equal models (used to check exact resume).
std::string parameter_digest(Recommender& model);

}  // namespace pixelrec::model
