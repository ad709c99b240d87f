// Helpers shared by the LibTorch benchmarks: timing, the machine's load, seeded random matrices,
// pixelrec50k-shaped item features and the torch::matmul rate every ratio is measured against.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "core/rng.h"
#include "core/stopwatch.h"
#include "model/recommender.h"

namespace pixelrec::bench {

using Clock = std::chrono::steady_clock;

// The 1-minute load average: other processes on the 2 cores distort multi-thread figures.
inline double load_average() {
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

// Uniform [-1, 1) values from a seeded stream.
inline torch::Tensor random_matrix(int64_t rows, int64_t cols, uint64_t seed, uint64_t key) {
  torch::Tensor t = torch::empty({rows, cols});
  float* p = t.data_ptr<float>();
  Rng rng = Rng::stream(seed, {key});
  for (int64_t i = 0; i < rows * cols; ++i) p[i] = float(rng.uniform(-1.0, 1.0));
  return t;
}

// `items` items, all in training, with a random tag among `tags` and every content input present.
inline model::ItemFeatures make_features(const std::vector<model::ContentInput>& inputs,
                                         int64_t items, int64_t tags, uint64_t seed) {
  model::ItemFeatures f;
  f.count = items;
  f.tag = torch::empty({items}, torch::kLong);
  Rng rng = Rng::stream(seed, {0});
  int64_t* tag = f.tag.data_ptr<int64_t>();
  for (int64_t i = 0; i < items; ++i) tag[i] = int64_t(rng.below(uint64_t(tags)));
  f.in_train = torch::ones({items}, torch::kBool);
  for (size_t k = 0; k < inputs.size(); ++k) {
    f.values.push_back(random_matrix(items, inputs[k].dim, seed, k + 1));
    f.presence.push_back(torch::ones({items}));
  }
  return f;
}

// torch::matmul GFLOP/s on [m, k] × [k, n], repeated for at least 1 s.
inline double matmul_gflops(int64_t m, int64_t k, int64_t n) {
  const torch::Tensor a = random_matrix(m, k, 3, 100), b = random_matrix(k, n, 3, 101);
  torch::Tensor c = torch::matmul(a, b);
  int64_t reps = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < 1.0) {
    c = torch::matmul(a, b);
    ++reps;
  }
  return 2.0 * double(m * k * n) * double(reps) / seconds_since(start) / 1e9;
}

// `count` positives over `users` × `items` with popularity-skewed items (density ~ x^-0.5 over
// the catalogue), the interaction shape bench_train uses.
inline void make_skewed_positives(int64_t users, int64_t items, size_t count,
                                  std::vector<uint32_t>& user_of, std::vector<uint32_t>& item_of) {
  Rng rng = Rng::stream(1, {0x504F53ull /* "POS" */});
  user_of.resize(count);
  item_of.resize(count);
  for (size_t p = 0; p < count; ++p) {
    user_of[p] = uint32_t(rng.below(uint64_t(users)));
    const double u = rng.uniform();
    item_of[p] = uint32_t(double(items) * u * u);
  }
}

}  // namespace pixelrec::bench
