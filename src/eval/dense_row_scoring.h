// The score_block skeleton shared by ItemKNN and UserKNN: per user, contributions are added into
// a dense catalogue row (per-thread scratch, reset through a touched list), then the requested
// items are gathered. Contributions are positive similarities, so a 0 sum means "untouched".
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/parallel.h"

namespace pixelrec::eval {

// accumulate(user, add) calls add(item, value) for every contribution to the user's row.
template <class Accumulate>
void score_block_by_dense_rows(const uint32_t* users, size_t num_users, const uint32_t* items,
                               size_t num_items, uint32_t catalogue_size, int threads, float* out,
                               const Accumulate& accumulate) {
  struct Scratch {
    std::vector<double> sums;  // per catalogue item
    std::vector<uint32_t> touched;
  };
  std::vector<Scratch> scratch(size_t(std::max(threads, 1)));
  parallel_for(num_users, threads, [&](size_t u, size_t worker) {
    Scratch& s = scratch[worker];
    if (s.sums.empty()) s.sums.assign(catalogue_size, 0.0);
    accumulate(users[u], [&s](uint32_t item, double value) {
      if (s.sums[item] == 0.0) s.touched.push_back(item);
      s.sums[item] += value;
    });
    float* row = out + u * num_items;
    for (size_t j = 0; j < num_items; ++j) row[j] = float(s.sums[items[j]]);
    for (uint32_t i : s.touched) s.sums[i] = 0.0;
    s.touched.clear();
  });
}

}  // namespace pixelrec::eval
