// Training-mode BatchNorm over the global batch (PyTorch's SyncBatchNorm). Each rank holds some of
// the batch's rows; the batch mean and variance are summed over ranks, so N ranks normalise,
// learn and update running statistics exactly as one process does on the whole batch.
#pragma once

#include <torch/torch.h>

#include "distributed/torch/tensor_collectives.h"

namespace pixelrec::model {

// The sum over ranks of `x` (same shape everywhere), differentiable: its gradient is the sum over
// ranks of the gradients. `ranks` null: x itself (one process).
torch::Tensor sum_over_ranks(const torch::Tensor& x, dist::TensorCollectives* ranks);

// bn's training forward of x [rows, C] with the statistics of every rank's rows together; updates
// bn's running mean, (unbiased) variance and batch count. Every rank calls it, in the same order,
// even with no rows; the global batch needs at least 2 rows.
torch::Tensor batch_norm_over_ranks(const torch::Tensor& x, torch::nn::BatchNorm1dImpl& bn,
                                    dist::TensorCollectives* ranks);

}  // namespace pixelrec::model
