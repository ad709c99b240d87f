#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "core/errors.h"
#include "core/logging.h"
#include "distributed/communicator.h"
#include "distributed/mpi_thread_level.h"

namespace pixelrec::dist {

namespace {

std::mutex g_mpi_mutex;
int g_mpi_users = 0;  // live MPI communicators; MPI is finalised when it drops to 0

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    std::lock_guard lock(g_mpi_mutex);
    int initialized = 0;
    MPI_Initialized(&initialized);
    int provided = 0;
    if (!initialized) {
      if (MPI_Init_thread(nullptr, nullptr, required_mpi_thread_level(), &provided) != MPI_SUCCESS)
        throw Error("MPI_Init failed: run under mpirun/srun with a working MPI installation");
    } else {
      MPI_Query_thread(&provided);  // initialised elsewhere: check what that gave
    }
    if (provided < required_mpi_thread_level() && !initialized)
      MPI_Finalize();  // refused below: leave MPI as it was found
    check_mpi_thread_level(provided);
    spdlog::debug("MPI thread support: {} provided ({} required)", mpi_thread_level_name(provided),
                  mpi_thread_level_name(required_mpi_thread_level()));
    ++g_mpi_users;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }

  ~MpiCommunicator() override {
    stop_watchdog_ = true;
    if (watchdog_.joinable()) watchdog_.join();
    std::lock_guard lock(g_mpi_mutex);
    if (--g_mpi_users == 0) {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void set_timeout(std::chrono::milliseconds timeout) override {
    timeout_ms_ = timeout.count();
    if (!watchdog_.joinable()) watchdog_ = std::thread([this] { watch(); });
  }

  void barrier() override {
    Deadline d(*this, "barrier");
    check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
  }

  void broadcast(void* data, size_t bytes, int root) override {
    Deadline d(*this, "broadcast");
    auto* p = static_cast<char*>(data);
    for (size_t off = 0; off < bytes; off += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, bytes - off));
      check(MPI_Bcast(p + off, n, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
    }
  }

  void allreduce_sum(float* data, size_t count) override { reduce(data, count, MPI_FLOAT); }
  void allreduce_sum(double* data, size_t count) override { reduce(data, count, MPI_DOUBLE); }
  void allreduce_sum(int64_t* data, size_t count) override { reduce(data, count, MPI_INT64_T); }

  void allgather(const void* send, size_t bytes, void* recv) override {
    PIXELREC_CHECK(bytes <= static_cast<size_t>(INT_MAX), "allgather chunking not implemented");
    Deadline d(*this, "allgather");
    check(MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes),
                        MPI_BYTE, MPI_COMM_WORLD),
          "allgather");
  }

 private:
  static constexpr size_t kMaxChunk = size_t{1} << 30;
  static constexpr int kTimeoutExitStatus = 1;  // "failure" (docs/commands.md)

  // Arms the watchdog for one collective.
  class Deadline {
   public:
    Deadline(MpiCommunicator& c, const char* op) : c_(c) {
      c_.current_op_ = op;
      c_.started_ms_ = now_ms();
    }
    ~Deadline() { c_.started_ms_ = 0; }

   private:
    MpiCommunicator& c_;
  };

  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Ends the whole job when a collective outlives the timeout: the peers of a stalled or dead
  // rank would otherwise wait forever. This thread makes no MPI call (MPI_Abort from it would
  // need MPI_THREAD_MULTIPLE): it ends the process with status 1, and mpirun (srun with
  // --kill-on-bad-exit) then ends every other rank.
  void watch() {
    while (!stop_watchdog_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const int64_t started = started_ms_;
      if (started == 0 || timeout_ms_ <= 0 || now_ms() - started <= timeout_ms_) continue;
      std::fprintf(stderr,
                   "pixelrec: error: rank %d: MPI %s (collective #%llu) did not complete within "
                   "%.1f s (distributed.timeout_seconds): another rank stalled or died; ending "
                   "the job (exit status %d)\n",
                   rank_, current_op_.load(), static_cast<unsigned long long>(sequence_ + 1),
                   double(timeout_ms_) / 1000.0, kTimeoutExitStatus);
      spdlog::default_logger()->flush();
      std::fflush(stdout);
      std::fflush(stderr);
      std::_Exit(kTimeoutExitStatus);
    }
  }

  template <class T>
  void reduce(T* data, size_t count, MPI_Datatype type) {
    Deadline d(*this, "allreduce");
    const size_t chunk = kMaxChunk / sizeof(T);
    for (size_t off = 0; off < count; off += chunk) {
      const int n = static_cast<int>(std::min(chunk, count - off));
      check(MPI_Allreduce(MPI_IN_PLACE, data + off, n, type, MPI_SUM, MPI_COMM_WORLD), "allreduce");
    }
  }

  void check(int code, const char* op) {
    ++sequence_;
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    throw Error("MPI " + std::string(op) + " failed on rank " + std::to_string(rank_) +
                " (collective #" + std::to_string(sequence_) + "): " + std::string(text, len));
  }

  int rank_ = 0;
  int size_ = 1;
  std::atomic<uint64_t> sequence_{0};
  std::atomic<int64_t> timeout_ms_{0};
  std::atomic<int64_t> started_ms_{0};  // 0: no collective in flight
  std::atomic<const char*> current_op_{""};
  std::atomic<bool> stop_watchdog_{false};
  std::thread watchdog_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() {
  return std::make_unique<MpiCommunicator>();
}

}  // namespace pixelrec::dist
