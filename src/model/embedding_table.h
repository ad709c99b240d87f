// An ID embedding table updated sparsely: a batch gathers only the rows it touches, their
// gradient stays a [rows, D] block, and the optimizer (adam, adamw, sgd with momentum) updates
// those rows and their state only, so a step costs the same for 1k or 10M users/items. Adam's
// bias correction uses each row's own step count ("lazy Adam"); weight decay applies to the
// touched rows.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace pixelrec::model {

struct RowOptimizerOptions {
  std::string type = "adamw";  // adam | adamw | sgd
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double momentum = 0.9;
};

class EmbeddingTable {
 public:
  EmbeddingTable() = default;
  EmbeddingTable(std::string name, int64_t rows, int64_t dim, const std::string& init);

  // Rows for `indices` (int64 [n]) → [n, D]. With grad mode on, the distinct rows become a leaf
  // whose gradient step() applies; call zero_grad() after each optimizer step.
  torch::Tensor lookup(const torch::Tensor& indices);

  // Gradient accumulated by every lookup since zero_grad(), merged by row: (rows [R], grad [R, D]).
  // Undefined tensors when nothing was looked up or no gradient reached the rows.
  std::pair<torch::Tensor, torch::Tensor> gradient() const;
  void zero_grad() { pending_.clear(); }

  // Updates the rows of `gradient` (scaled by grad_scale) with the optimizer rule at `lr`.
  void step(const std::pair<torch::Tensor, torch::Tensor>& gradient,
            const RowOptimizerOptions& options, double lr, double grad_scale = 1.0);

  const std::string& name() const { return name_; }
  int64_t rows() const { return weight_.size(0); }
  torch::Tensor& weight() { return weight_; }
  const torch::Tensor& weight() const { return weight_; }

  // Moves the weight and its optimizer state to `device` (single-GPU training).
  void to(const torch::Device& device);

  // Keeps only `rows` (int64, ascending) of the weight and its optimizer state, in that order
  // (an item shard of a distributed run); pending gradients must have been applied.
  void keep_rows(const torch::Tensor& rows);

  // weight, per-row optimizer state, by name (for checkpoints).
  std::vector<std::pair<std::string, torch::Tensor*>> state_tensors();

 private:
  std::string name_;
  torch::Tensor weight_;     // [rows, D]
  torch::Tensor moment1_;    // adam/adamw exp_avg, sgd momentum buffer
  torch::Tensor moment2_;    // adam/adamw exp_avg_sq
  torch::Tensor row_steps_;  // int64 [rows]: optimizer steps each row has taken
  struct Pending {
    torch::Tensor rows, leaf;
  };
  std::vector<Pending> pending_;
};

}  // namespace pixelrec::model
