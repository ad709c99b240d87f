#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace pixelrec {

void parallel_for(size_t n, int threads, const std::function<void(size_t, size_t)>& body) {
  const size_t workers = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), n));
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&](size_t worker) {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        body(i, worker);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = n;  // no new indices; running ones finish
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

void parallel_for(size_t n, int threads, const std::function<void(size_t)>& body) {
  parallel_for(n, threads, [&](size_t i, size_t) { body(i); });
}

}  // namespace pixelrec
