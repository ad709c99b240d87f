// dist::Communicator over LibTorch's c10d process groups: Gloo (CPU, TCP) for launches without
// MPI (torchrun, SLURM without PMI) and NCCL (CUDA builds only), rendezvous over a TCPStore; and
// the one place that picks the communicator of a training or evaluation run.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/config.h"
#include "distributed/communicator.h"
#include "distributed/launch_env.h"

namespace pixelrec::dist {

// A c10d TCPStore handle: rank 0 listens, the other ranks connect. LibTorch types stay in the .cpp.
class RendezvousStore {
 public:
  // Listens on host:port (port 0: any free port, see port()) for `world_size` ranks.
  static RendezvousStore listen(const std::string& host, int port, int world_size,
                                std::chrono::milliseconds timeout);
  static RendezvousStore connect(const std::string& host, int port,
                                 std::chrono::milliseconds timeout);
  const std::string& host() const;
  int port() const;

  struct Impl;
  const std::shared_ptr<Impl>& impl() const { return impl_; }

 private:
  explicit RendezvousStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// Where the TCPStore of a launch lives. torchrun and --rank flags: MASTER_ADDR:MASTER_PORT.
// SLURM: the first host of the node list, port MASTER_PORT or else slurm_rendezvous_port().
// mpirun (Open MPI): rank 0 listens on MASTER_PORT or any free port and sends host:port to the
// others over MPI (`via_mpi`).
struct RendezvousPlan {
  std::string host;
  int port = 0;
  bool via_mpi = false;
};
RendezvousPlan plan_rendezvous(const dist::LaunchEnv& env, const dist::EnvLookup& lookup);

// 12000 + SLURM_JOB_ID mod 20000: distinct for concurrent jobs sharing a first node (unless their
// ids differ by a multiple of 20000) and below Linux's ephemeral port range (32768-60999).
int slurm_rendezvous_port(const std::string& job_id);

// Gloo or NCCL process group over `store` (rank 0 passes the listening store). Waits up to
// max(timeout, 2 min) for every rank to arrive; afterwards a collective that does not complete
// within `timeout` throws Error naming the rank, the operation and its sequence number.
// set_timeout() with another value rebuilds the process group (LibTorch 1.13's Gloo fixed the
// timeout at construction), so it is then a collective call. `local_rank` picks the GPU (NCCL).
std::unique_ptr<dist::Communicator> make_c10d_communicator(const RendezvousStore& store, int rank,
                                                           int world_size,
                                                           const std::string& backend,
                                                           std::chrono::milliseconds timeout,
                                                           int local_rank = 0);

// The same for this launch (rendezvous from plan_rendezvous with the process environment).
// backend: gloo | nccl. nccl throws Error when this build's LibTorch has no CUDA.
std::unique_ptr<dist::Communicator> make_c10d_communicator(const dist::LaunchEnv& env,
                                                           const std::string& backend,
                                                           std::chrono::milliseconds timeout);

// The backend a run uses: "single" for one process; otherwise distributed.backend, where auto
// means nccl with --device cuda, mpi under mpirun/srun (Open MPI or SLURM variables) and gloo
// under torchrun or --rank flags. Throws ConfigError for mpi without an MPI launch.
std::string choose_backend(const std::string& configured, const dist::LaunchEnv& env,
                           const std::string& device);

// The communicator of `pixelrec train` / `evaluate` (device "cpu" for evaluate), with
// distributed.timeout_seconds as its collective timeout.
std::unique_ptr<dist::Communicator> make_training_communicator(const Config& config,
                                                               const dist::LaunchEnv& env,
                                                               const std::string& device);

}  // namespace pixelrec::dist
