// Places every rank's rows of the global batch at their places: the losses that compare pairs
// (model/ranking_losses.h) then see the one-process batch on every rank. Only this rank's rows
// keep their gradient, so the gradients summed over ranks are the one-process gradient.
#pragma once

#include <torch/torch.h>

#include "distributed/torch/tensor_collectives.h"

namespace pixelrec::model {

// x: [n, C] (or [n]) rows of this rank at `places` (int64 [n], any device) of a global batch of
// `global` rows; every place is held by exactly one rank. Returns [global, C] (or [global]) on
// x's device. ranks == nullptr: one process (x itself, placed).
torch::Tensor rows_at_global_places(dist::TensorCollectives* ranks, int rank,
                                    const torch::Tensor& x, const torch::Tensor& places,
                                    int64_t global);

}  // namespace pixelrec::model
