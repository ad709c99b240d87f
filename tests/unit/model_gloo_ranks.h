// Runs a test body on N Gloo ranks as threads of the test process (one TCPStore on loopback).
#pragma once

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "distributed/communicator.h"
#include "distributed/torch/c10d_communicator.h"

namespace pixelrec::model {

// Runs body(communicator) on `world` Gloo ranks, one thread each, over one TCPStore that rank 0
// listens on; returns each rank's exception message ("" when it returned normally).
inline std::vector<std::string> run_ranks(int world, std::chrono::milliseconds timeout,
                                          const std::function<void(dist::Communicator&)>& body) {
  // c10d's flight recorder is one per process; recording from several ranks' process groups in
  // one process crashed it (LibTorch 2.11: a segfault in recordWithResetEnabled in 4 of 8 runs
  // of unit_model). One rank per process, as in training, never shares it. Off here.
  setenv("TORCH_FR_BUFFER_SIZE", "0", /*overwrite=*/0);
  const dist::RendezvousStore server =
      dist::RendezvousStore::listen("127.0.0.1", 0, world, timeout);
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        const dist::RendezvousStore store =
            rank == 0 ? server
                      : dist::RendezvousStore::connect("127.0.0.1", server.port(), timeout);
        auto comm = dist::make_c10d_communicator(store, rank, world, "gloo", timeout);
        body(*comm);
      } catch (const std::exception& e) {
        errors[size_t(rank)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

}  // namespace pixelrec::model
