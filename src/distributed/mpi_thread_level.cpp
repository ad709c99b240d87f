#include "distributed/mpi_thread_level.h"

#include <mpi.h>

#include "core/errors.h"

namespace pixelrec::dist {

int required_mpi_thread_level() { return MPI_THREAD_FUNNELED; }

std::string mpi_thread_level_name(int level) {
  if (level == MPI_THREAD_SINGLE) return "MPI_THREAD_SINGLE";
  if (level == MPI_THREAD_FUNNELED) return "MPI_THREAD_FUNNELED";
  if (level == MPI_THREAD_SERIALIZED) return "MPI_THREAD_SERIALIZED";
  if (level == MPI_THREAD_MULTIPLE) return "MPI_THREAD_MULTIPLE";
  return "unknown level " + std::to_string(level);
}

void check_mpi_thread_level(int provided) {
  // The levels are ordered: SINGLE < FUNNELED < SERIALIZED < MULTIPLE (MPI standard, 12.4.3).
  if (provided >= required_mpi_thread_level()) return;
  throw Error("the MPI library provides only " + mpi_thread_level_name(provided) +
              " thread support, but pixelrec needs " +
              mpi_thread_level_name(required_mpi_thread_level()) +
              " (it runs compute threads beside the thread that makes every MPI call); use an MPI "
              "built with thread support (Open MPI, MPICH and Intel MPI provide it by default), or "
              "run one process without mpirun/srun");
}

}  // namespace pixelrec::dist
