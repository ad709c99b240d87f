// A minimal parallel loop for data work (images, features): indices are handed out dynamically
// to up to `threads` workers; the first exception stops the loop and is rethrown to the caller.
#pragma once

#include <cstddef>
#include <functional>

namespace pixelrec {

// body(i, worker) for every i in [0, n); worker is in [0, min(threads, n)) and identifies the
// thread, so callers can keep one scratch buffer per worker.
void parallel_for(size_t n, int threads, const std::function<void(size_t, size_t)>& body);

// body(i) for every i in [0, n).
void parallel_for(size_t n, int threads, const std::function<void(size_t)>& body);

}  // namespace pixelrec
