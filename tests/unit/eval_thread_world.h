// Evaluation tests over N ranks in one process: a world of threads implementing the
// Communicator collectives exactly, and the check that a rank's result is the one-process one.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "distributed/communicator.h"
#include "eval/evaluator.h"

namespace pixelrec::eval {

// An in-process world of N ranks (one thread each) implementing the collectives exactly.
class ThreadWorld {
 public:
  explicit ThreadWorld(int size) : size_(size), slots_(size_t(size)) {}
  int size() const { return size_; }
  // Every rank deposits a pointer; `read` runs once all have, before anyone leaves.
  void exchange(int rank, const void* mine,
                const std::function<void(const std::vector<const void*>&)>& read) {
    slots_[size_t(rank)] = mine;
    barrier();
    read(slots_);
    barrier();
  }

 private:
  void barrier() {
    std::unique_lock lock(mutex_);
    const uint64_t generation = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != generation; });
    }
  }
  int size_;
  std::vector<const void*> slots_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
};

class ThreadCommunicator : public dist::Communicator {
 public:
  ThreadCommunicator(ThreadWorld& world, int rank) : world_(world), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return world_.size(); }
  std::string backend() const override { return "threads"; }
  void barrier() override {
    world_.exchange(rank_, nullptr, [](const auto&) {});
  }
  void broadcast(void* data, size_t bytes, int root) override {
    std::vector<char> copy(bytes);
    world_.exchange(rank_, data,
                    [&](const auto& all) { std::memcpy(copy.data(), all[size_t(root)], bytes); });
    std::memcpy(data, copy.data(), bytes);
  }
  void allreduce_sum(float* data, size_t count) override { reduce(data, count); }
  void allreduce_sum(double* data, size_t count) override { reduce(data, count); }
  void allreduce_sum(int64_t* data, size_t count) override { reduce(data, count); }
  void allgather(const void* send, size_t bytes, void* recv) override {
    world_.exchange(rank_, send, [&](const auto& all) {
      for (size_t r = 0; r < all.size(); ++r)
        std::memcpy(static_cast<char*>(recv) + r * bytes, all[r], bytes);
    });
  }

 private:
  template <class T>
  void reduce(T* data, size_t count) {
    std::vector<T> sum(count, T(0));
    world_.exchange(rank_, data, [&](const auto& all) {
      for (const void* p : all)
        for (size_t i = 0; i < count; ++i) sum[i] += static_cast<const T*>(p)[i];
    });
    std::copy(sum.begin(), sum.end(), data);
  }
  ThreadWorld& world_;
  int rank_;
};

inline void expect_same_result(const EvalResult& a, const EvalResult& b) {
  EXPECT_EQ(a.metrics, b.metrics);
  EXPECT_EQ(a.per_user_names, b.per_user_names);
  EXPECT_EQ(a.users, b.users);
  EXPECT_EQ(a.per_user, b.per_user);
  EXPECT_EQ(a.skipped, b.skipped);
  EXPECT_EQ(a.candidates_per_user_min, b.candidates_per_user_min);
  EXPECT_EQ(a.candidates_per_user_max, b.candidates_per_user_max);
  EXPECT_EQ(a.pairs_scored, b.pairs_scored);
  EXPECT_EQ(a.notes, b.notes);
}

// Runs body(comm) on `size` ranks, one thread each, and waits for all of them.
inline void run_ranks(int size, const std::function<void(dist::Communicator&)>& body) {
  ThreadWorld world(size);
  std::vector<std::thread> ranks;
  for (int rank = 0; rank < size; ++rank)
    ranks.emplace_back([&, rank] {
      ThreadCommunicator comm(world, rank);
      body(comm);
    });
  for (auto& t : ranks) t.join();
}

}  // namespace pixelrec::eval
