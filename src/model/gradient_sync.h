// Data-parallel synchronisation of the trainer, shaped like PyTorch DDP: initial parameters
// broadcast from rank 0; dense gradients summed in buckets (parameters in reverse order, as
// backward produces them), each bucket launched as soon as all its gradients of the step's last
// backward are ready when the backend is asynchronous (c10d Gloo/NCCL: communication overlaps the
// rest of backward), else at the step; embedding-row gradients merged across ranks (an
// item-sharded table's own rows need none); agreement on a pending signal. Collectives run on the
// tensors where they live (no host staging under NCCL). Losses are already scaled by the global
// batch size, so summing gives exactly one process's step on that batch.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "distributed/communicator.h"
#include "distributed/torch/tensor_collectives.h"
#include "model/optimizers.h"

namespace pixelrec::model {

class Recommender;

class GradientSync {
 public:
  // `device`: where the model lives. `bucket_floats`: gradient values per bucket (DDP's
  // bucket_cap_mb; 1M floats = 4 MiB).
  explicit GradientSync(dist::Communicator& comm, torch::Device device = torch::kCPU,
                        size_t bucket_floats = size_t(1) << 20);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  bool active() const { return comm_.size() > 1; }
  void broadcast_parameters(Recommender& model);

  // Buckets `params` and, with an asynchronous backend, hooks their gradient accumulators so that
  // an armed backward launches each bucket's reduction once all its gradients are ready.
  void register_dense(const std::vector<torch::Tensor>& params);
  // The next backward is the last before a step: its ready buckets are reduced during backward.
  void arm_overlap();
  // Launches what backward did not (in bucket order, zeros for undefined gradients), waits for
  // every bucket and writes the sums into the gradients. `params` as given to register_dense.
  void allreduce_dense(const std::vector<torch::Tensor>& params);

  // The gradient of one row every rank holds (the unknown item of an item-sharded table): summed
  // over ranks; undefined when no rank touched it (so lazy optimizer state stays untouched).
  RowGradient merge_shared_row(const RowGradient& local, int64_t row, int64_t dim);
  // One step's row traffic in two collectives instead of three per table plus two: an allgather
  // of small per-rank header values (each table's row count, the pending signal, the squared norm
  // of the rank's item-shard rows), then one allgather of every replicated table's rows and
  // gradients packed together. A table goes by one dense allreduce of its gradient with a
  // "touched" column instead once N x its largest row count exceeds twice its rows: that volume
  // does not grow with N.
  struct RowExchange {
    std::vector<RowGradient> merged;  // per table: touched rows, gradients summed over ranks
    double shard_squared_norm = 0;    // summed over ranks, in rank order
    int signal = 0;                   // the largest pending signal over ranks
  };
  RowExchange exchange_rows(const std::vector<RowGradient>& local, const std::vector<int64_t>& dims,
                            const std::vector<int64_t>& table_rows, double shard_squared_norm,
                            int local_signal);
  // The trainer notes its pending signal before a step; the step's row exchange agrees on it, and
  // agreed_signal() returns that (or agrees on its own when the step exchanged nothing).
  void note_signal(int local_signal) { noted_signal_ = local_signal; }
  int noted_signal() const { return noted_signal_; }
  void set_agreed_signal(int signal) { agreed_signal_ = signal; }
  int agreed_signal();

  // Buckets reduced while backward was still running, since construction (for the log/tests).
  int64_t buckets_overlapped() const { return overlapped_; }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_, in bucket order
    torch::Tensor flat;          // the bucket's gradients, on device_
    size_t waiting = 0;          // gradients not yet ready in the armed backward
    std::unique_ptr<dist::PendingCollective> pending;
  };
  void on_gradient_ready(size_t param);
  void launch(size_t bucket);
  void launch_ready_buckets();
  void reset_buckets();
  RowGradient merge_rows_dense(const RowGradient& local, int64_t dim, int64_t table_rows);
  // The largest pending signal number over all ranks (0: none), so every rank stops together.
  int agree_on_signal(int local_signal);

  dist::Communicator& comm_;
  std::shared_ptr<dist::TensorCollectives> collectives_;
  torch::Device device_;
  size_t bucket_floats_;
  std::vector<torch::Tensor> params_;
  std::vector<size_t> bucket_of_, offset_in_bucket_;
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;  // buckets launch strictly in order, the same on every rank
  bool armed_ = false;
  int64_t overlapped_ = 0;
  int noted_signal_ = 0;
  int agreed_signal_ = -1;  // -1: not agreed in this step
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> hooks_;
};

}  // namespace pixelrec::model
