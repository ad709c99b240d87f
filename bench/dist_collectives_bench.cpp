// Collective speed of the mpi and gloo communicators under mpirun: allreduce_sum(float) algorithm
// and bus bandwidth by message size (4 KiB … 64 MiB) and broadcast latency; median of repeats.
//   mpirun --allow-run-as-root --oversubscribe -np 2 bench_dist_collectives [repeats, default 20]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.h"
#include "distributed/communicator.h"
#include "distributed/torch/c10d_communicator.h"

namespace {

using namespace pixelrec;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Seconds of one call of `op`, each after a barrier so that every rank starts together; the
// median over `repeats` after 2 warm-up calls, as seen by the slowest rank.
template <class Op>
double median_seconds(dist::Communicator& comm, int repeats, Op&& op) {
  std::vector<double> times;
  for (int i = -2; i < repeats; ++i) {
    comm.barrier();
    const auto t0 = Clock::now();
    op();
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    if (i < 0) continue;
    std::vector<double> all(size_t(comm.size()));
    comm.allgather(&t, sizeof t, all.data());
    times.push_back(*std::max_element(all.begin(), all.end()));
  }
  return median(times);
}

void measure(dist::Communicator& comm, int repeats) {
  const int n = comm.size();
  const double bus_factor = 2.0 * (n - 1) / n;
  std::vector<float> buffer((size_t(64) << 20) / sizeof(float), 1.0f);
  for (size_t bytes = 4096; bytes <= (size_t(64) << 20); bytes *= 4) {
    const size_t count = bytes / sizeof(float);
    // Fewer repeats for the large sizes keep the run short; never fewer than 5.
    const int reps = bytes >= (size_t(16) << 20) ? std::max(5, repeats / 4) : repeats;
    const double t = median_seconds(comm, reps, [&] { comm.allreduce_sum(buffer.data(), count); });
    if (comm.is_root())
      std::printf("%-5s allreduce %8zu KiB  %9.1f us  algbw %6.2f GB/s  busbw %6.2f GB/s\n",
                  comm.backend().c_str(), bytes >> 10, t * 1e6, double(bytes) / t / 1e9,
                  bus_factor * double(bytes) / t / 1e9);
  }
  int64_t word = 42;
  const double bcast = median_seconds(comm, repeats * 10, [&] { comm.broadcast(&word, 8, 0); });
  const double barrier = median_seconds(comm, repeats * 10, [&] { comm.barrier(); });
  if (comm.is_root())
    std::printf("%-5s broadcast 8 B latency %.1f us, barrier %.1f us\n", comm.backend().c_str(),
                bcast * 1e6, barrier * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int repeats = argc > 1 ? std::atoi(argv[1]) : 20;
    if (repeats < 1) {
      std::fprintf(stderr, "usage: bench_dist_collectives [repeats >= 1, default 20]\n");
      return 2;
    }
    const dist::LaunchEnv env = dist::detect_launch_env(dist::process_environment());
    if (env.source != "openmpi" || env.world_size < 2)
      throw Error("run under mpirun with 2 or more ranks (both the mpi and gloo backends)");
    auto mpi = dist::make_mpi_communicator();
    auto gloo = dist::make_c10d_communicator(env, "gloo", std::chrono::minutes(10));
    if (mpi->is_root())
      std::printf("%d ranks, %d repeats (median; each call timed on the slowest rank)\n",
                  mpi->size(), repeats);
    measure(*mpi, repeats);
    measure(*gloo, repeats);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dist_collectives: %s\n", e.what());
    return 1;
  }
}
