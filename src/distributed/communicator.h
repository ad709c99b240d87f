// Collective communication behind one small interface, so that training, caching and evaluation
// are written once for 1..N processes. Backends: a single process (no-op collectives) and MPI;
// c10d Gloo/NCCL come with the distributed trainer. Failures name rank, operation and sequence.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "distributed/launch_env.h"

namespace pixelrec::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  virtual void barrier() = 0;
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void allreduce_sum(float* data, size_t count) = 0;
  virtual void allreduce_sum(double* data, size_t count) = 0;
  virtual void allreduce_sum(int64_t* data, size_t count) = 0;
  // Every rank contributes `bytes` bytes; `recv` receives size() * bytes, in rank order.
  virtual void allgather(const void* send, size_t bytes, void* recv) = 0;

  // Every later collective must finish within `timeout`, else the job ends with an error naming
  // the rank, the operation and its sequence number (distributed.timeout_seconds). A stalled or
  // dead rank then ends the job instead of hanging it. No-op for one process.
  virtual void set_timeout(std::chrono::milliseconds timeout) { (void)timeout; }

  bool is_root() const { return rank() == 0; }
};

std::unique_ptr<Communicator> make_single_process_communicator();

// Initialises MPI (once per process, MPI_THREAD_FUNNELED, checked: dist/mpi_thread_level.h;
// finalised when the last MPI communicator is destroyed).
std::unique_ptr<Communicator> make_mpi_communicator();

// The communicator for this launch: single process when world_size is 1; MPI under mpirun
// (Open MPI) or srun; throws Error naming the launcher and the fix otherwise.
std::unique_ptr<Communicator> make_communicator(const LaunchEnv& env);

}  // namespace pixelrec::dist
