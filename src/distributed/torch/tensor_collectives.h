// Collectives on tensors where they live. A c10d communicator (Gloo on the CPU, NCCL on the GPU)
// runs them on the tensors themselves and asynchronously, so NCCL reduces device memory with no
// host copy and gradient buckets can be reduced while backward is still running; any other
// communicator (MPI, one process) runs them through host memory, synchronously.
#pragma once

#include <torch/types.h>

#include <memory>

#include "distributed/communicator.h"

namespace pixelrec::dist {

// A collective in flight. wait() returns once its result is in the tensor, or throws Error naming
// the rank, the operation and its sequence number (a failure, or no completion within the
// communicator's timeout).
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
};

// What a synchronous (or empty) collective returns: already complete.
class CompletedCollective final : public PendingCollective {
 public:
  void wait() override {}
};

class TensorCollectives {
 public:
  virtual ~TensorCollectives() = default;
  // True when start_allreduce_sum returns before the reduction is done (c10d backends).
  virtual bool asynchronous() const = 0;

  // Starts the in-place sum over ranks of a contiguous tensor; every rank starts the same
  // collectives in the same order. The tensor must stay alive and untouched until wait().
  virtual std::unique_ptr<PendingCollective> start_allreduce_sum(torch::Tensor tensor) = 0;
  void allreduce_sum(const torch::Tensor& tensor) { start_allreduce_sum(tensor)->wait(); }
  // Root's contiguous tensor into every rank's tensor of the same shape.
  virtual void broadcast(const torch::Tensor& tensor, int root) = 0;
  // Every rank's contiguous tensor (same shape and type everywhere) concatenated along dim 0 in
  // rank order, on the tensor's device.
  virtual torch::Tensor allgather(const torch::Tensor& tensor) = 0;
};

// Implemented by communicators that have tensor collectives of their own (the c10d ones).
class HasTensorCollectives {
 public:
  virtual ~HasTensorCollectives() = default;
  virtual TensorCollectives& tensor_collectives() = 0;
};

// The tensor collectives of `comm` (which must outlive them): its own when it has them, else
// through host memory over its byte-level collectives.
std::shared_ptr<TensorCollectives> tensor_collectives(dist::Communicator& comm);

}  // namespace pixelrec::dist
