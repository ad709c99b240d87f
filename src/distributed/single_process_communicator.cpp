#include <cstring>

#include "core/errors.h"
#include "distributed/communicator.h"

namespace pixelrec::dist {

namespace {

// World of one: every collective is the identity.
class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void barrier() override {}
  void broadcast(void*, size_t, int) override {}
  void allreduce_sum(float*, size_t) override {}
  void allreduce_sum(double*, size_t) override {}
  void allreduce_sum(int64_t*, size_t) override {}
  void allgather(const void* send, size_t bytes, void* recv) override {
    std::memcpy(recv, send, bytes);
  }
};

}  // namespace

std::unique_ptr<Communicator> make_single_process_communicator() {
  return std::make_unique<SingleProcessCommunicator>();
}

std::unique_ptr<Communicator> make_communicator(const LaunchEnv& env) {
  if (!env.distributed()) return make_single_process_communicator();
  if (env.source == "slurm" && !env.pmi)
    throw Error("srun started " + std::to_string(env.world_size) +
                " tasks without PMI (the cluster's MpiDefault is none), and this step needs MPI: "
                "run srun --mpi=pmix (see docs/distributed.md, \"Running on SLURM\")");
  if (env.source == "openmpi" || env.source == "slurm") return make_mpi_communicator();
  throw Error("launched by " + env.source + " with " + std::to_string(env.world_size) +
              " processes, but only MPI launches (mpirun, srun with PMI) are supported by this "
              "step; launch with mpirun -np N or srun");
}

}  // namespace pixelrec::dist
