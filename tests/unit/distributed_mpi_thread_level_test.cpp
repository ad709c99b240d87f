// The MPI thread level: the communicator needs MPI_THREAD_FUNNELED (every MPI call on the thread
// that initialised MPI; the timeout watchdog makes none), and an MPI library that provides less
// is refused with a message that names both levels and the fix.
#include <gtest/gtest.h>
#include <mpi.h>

#include "core/errors.h"
#include "distributed/mpi_thread_level.h"

namespace pixelrec::dist {
namespace {

std::string error_of(int provided) {
  try {
    check_mpi_thread_level(provided);
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(MpiThreadLevel, TheCodeNeedsFunneled) {
  EXPECT_EQ(required_mpi_thread_level(), MPI_THREAD_FUNNELED);
  EXPECT_EQ(mpi_thread_level_name(MPI_THREAD_SINGLE), "MPI_THREAD_SINGLE");
  EXPECT_EQ(mpi_thread_level_name(MPI_THREAD_FUNNELED), "MPI_THREAD_FUNNELED");
  EXPECT_EQ(mpi_thread_level_name(MPI_THREAD_SERIALIZED), "MPI_THREAD_SERIALIZED");
  EXPECT_EQ(mpi_thread_level_name(MPI_THREAD_MULTIPLE), "MPI_THREAD_MULTIPLE");
}

TEST(MpiThreadLevel, FunneledOrMoreIsAccepted) {
  for (int level : {MPI_THREAD_FUNNELED, MPI_THREAD_SERIALIZED, MPI_THREAD_MULTIPLE})
    EXPECT_EQ(error_of(level), "<no error>") << mpi_thread_level_name(level);
}

TEST(MpiThreadLevel, LessThanFunneledIsAClearError) {
  EXPECT_EQ(error_of(MPI_THREAD_SINGLE),
            "the MPI library provides only MPI_THREAD_SINGLE thread support, but pixelrec needs "
            "MPI_THREAD_FUNNELED (it runs compute threads beside the thread that makes every MPI "
            "call); use an MPI built with thread support (Open MPI, MPICH and Intel MPI provide "
            "it by default), or run one process without mpirun/srun");
}

}  // namespace
}  // namespace pixelrec::dist
