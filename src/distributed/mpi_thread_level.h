// The MPI thread support this code needs, and the check of what the MPI library provides.
// Every MPI call is made on the thread that initialised MPI (compute threads never call MPI, and
// the collective-timeout watchdog ends a hung rank without MPI), so MPI_THREAD_FUNNELED suffices.
#pragma once

#include <string>

namespace pixelrec::dist {

// MPI_THREAD_FUNNELED: requested from MPI_Init_thread.
int required_mpi_thread_level();

// "MPI_THREAD_SINGLE" ... "MPI_THREAD_MULTIPLE" (or "unknown level N").
std::string mpi_thread_level_name(int level);

// Throws Error naming both levels and the fix when `provided` is below the required level.
void check_mpi_thread_level(int provided);

}  // namespace pixelrec::dist
