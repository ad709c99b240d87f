// Data-parallel synchronisation of the trainer over a dist::Communicator: initial parameters
// broadcast from rank 0, dense gradients summed by bucketed allreduce (flatten → allreduce → copy
// back, undefined gradients as zeros), embedding-row gradients merged across ranks (allgather of
// each rank's touched rows, summed by row; an item-sharded table's rows need none), and agreement
// on a pending signal. Losses are already
// scaled by the global batch size, so summing gives exactly one process's step on that batch.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "dist/communicator.h"
#include "model/optimizers.h"

namespace pixelrec::model {

class Recommender;

class GradientSync {
 public:
  // `device`: where the model lives; collectives take host memory, so device tensors are staged
  // through host copies (the NCCL communicator copies them to its GPU again).
  explicit GradientSync(dist::Communicator& comm, torch::Device device = torch::kCPU,
                        size_t bucket_floats = size_t(1) << 22);

  bool active() const { return comm_.size() > 1; }
  void broadcast_parameters(Recommender& model);
  void allreduce_dense(const std::vector<torch::Tensor>& params);
  RowGradient merge_rows(const RowGradient& local, int64_t dim);
  // The gradient of one row every rank holds (the unknown item of an item-sharded table): summed
  // over ranks; undefined when no rank touched it (so lazy optimizer state stays untouched).
  RowGradient merge_shared_row(const RowGradient& local, int64_t row, int64_t dim);
  double sum_over_ranks(double value);
  // The largest pending signal number over all ranks (0: none), so every rank stops together.
  int agree_on_signal(int local_signal);

 private:
  dist::Communicator& comm_;
  torch::Device device_;
  size_t bucket_floats_;
  std::vector<float> bucket_;
};

}  // namespace pixelrec::model
