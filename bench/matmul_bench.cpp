// torch::matmul GFLOP/s for one shape on N threads, the yardstick a whole command's FLOP rate is
// compared with (bench/full_ranking_50k.sh runs it next to `pixelrec evaluate --task full`).
// Usage: bench_matmul M K N [threads]
#include <cstdio>
#include <cstdlib>

#include "bench_support.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: bench_matmul M K N [threads]\n");
    return 2;
  }
  const int64_t m = std::atoll(argv[1]), k = std::atoll(argv[2]), n = std::atoll(argv[3]);
  if (argc > 4) torch::set_num_threads(std::atoi(argv[4]));
  const double gflops = pixelrec::bench::matmul_gflops(m, k, n);
  std::printf("matmul %lldx%lld @ %lldx%lld, %d threads: %.1f GFLOP/s (load %.2f)\n", (long long)m,
              (long long)k, (long long)k, (long long)n, torch::get_num_threads(), gflops,
              pixelrec::bench::load_average());
  return 0;
}
