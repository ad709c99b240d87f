#include "distributed/torch/c10d_communicator.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <vector>

#ifdef PIXELREC_WITH_CUDA
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <c10/cuda/CUDAFunctions.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "core/errors.h"
#include "core/host.h"
#include "core/strings.h"
#include "distributed/torch/tensor_collectives.h"

namespace pixelrec::dist {

struct RendezvousStore::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  std::string host;
  int port = 0;
};

namespace {

using std::chrono::milliseconds;

// c10 errors carry a C++ backtrace in what(); the one-line message is enough for users.
std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e))
    return c10_error->what_without_backtrace();
  return e.what();
}

std::string seconds_text(milliseconds t) {
  return fmt::format("{:.1f} s", double(t.count()) / 1e3);
}

// Ranks start seconds apart (LibTorch loading, config parsing): the first contact may wait longer
// than one collective.
milliseconds rendezvous_timeout(milliseconds collective) {
  return std::max<milliseconds>(collective, std::chrono::minutes(2));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& rendezvous_host) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  if (is_loopback(rendezvous_host))
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();  // this host's name, else loopback
}

// Returns only when all `world_size` ranks reached it (or throws after `timeout`), so that the
// process group's own connection phase, bounded by the collective timeout, starts together.
void wait_for_all_ranks(c10d::Store& store, int rank, int world_size, milliseconds timeout,
                        const std::string& backend, const RendezvousStore& endpoint) {
  try {
    if (store.add("arrived", 1) == world_size) store.set("all_arrived", std::vector<uint8_t>{1});
    store.wait({"all_arrived"}, timeout);
  } catch (const std::exception& e) {
    throw Error(fmt::format(
        "rank {}: {} rendezvous at {}:{} failed: not all {} ranks arrived within {} ({}); start "
        "every rank with the same MASTER_ADDR/MASTER_PORT and world size, and check that rank 0 "
        "is running",
        rank, backend, endpoint.host(), endpoint.port(), world_size, seconds_text(timeout),
        message_of(e)));
  }
}

// One host tensor as the backend needs it: the caller's memory itself on CPU, a device copy
// for NCCL (copied back by finish()).
class Staged {
 public:
  Staged(void* data, int64_t count, at::ScalarType type, const at::Device& device)
      : host_(at::from_blob(data, {count}, at::TensorOptions().dtype(type))),
        device_tensor_(device.is_cpu() ? host_ : host_.to(device)) {}
  at::Tensor& tensor() { return device_tensor_; }
  void finish() {
    if (!device_tensor_.is_same(host_)) host_.copy_(device_tensor_);
  }

 private:
  at::Tensor host_, device_tensor_;
};

template <class Group>
using GroupFactory = std::function<c10::intrusive_ptr<Group>(
    const c10::intrusive_ptr<c10d::Store>& store, int rank, int world_size, milliseconds timeout)>;

// Every Communicator operation as one c10d collective, waited for; failures (timeouts included)
// become Error naming the rank, the operation and its sequence number. Its tensor collectives run
// on the tensors themselves (device memory for NCCL) and return before completion.
template <class Group>
class C10dCommunicator final : public dist::Communicator,
                               public HasTensorCollectives,
                               public TensorCollectives {
 public:
  C10dCommunicator(std::string backend, RendezvousStore store, int rank, int world_size,
                   milliseconds timeout, at::Device device, GroupFactory<Group> factory)
      : backend_(std::move(backend)),
        store_(std::move(store)),
        rank_(rank),
        size_(world_size),
        timeout_(timeout),
        device_(device),
        factory_(std::move(factory)) {
    rebuild();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return backend_; }
  TensorCollectives& tensor_collectives() override { return *this; }
  bool asynchronous() const override { return true; }

  // LibTorch 1.13's Gloo ignored per-collective timeouts (measured): a new timeout needs a new
  // process group, built by every rank together.
  void set_timeout(milliseconds timeout) override {
    if (timeout == timeout_) return;
    timeout_ = timeout;
    rebuild();
  }

  void barrier() override {
    run("barrier", [&] { return group_->barrier(); });
  }

  // The host-memory operations stage through the tensor ones (the caller's memory itself under
  // Gloo, a device copy under NCCL).
  void broadcast(void* data, size_t bytes, int root) override {
    if (bytes == 0) return skip();
    Staged t(data, int64_t(bytes), at::kByte, device_);
    broadcast(t.tensor(), root);
    t.finish();
  }

  void allreduce_sum(float* data, size_t count) override { reduce(data, count, at::kFloat); }
  void allreduce_sum(double* data, size_t count) override { reduce(data, count, at::kDouble); }
  void allreduce_sum(int64_t* data, size_t count) override { reduce(data, count, at::kLong); }

  void allgather(const void* send, size_t bytes, void* recv) override {
    if (bytes == 0) return skip();
    Staged input(const_cast<void*>(send), int64_t(bytes), at::kByte, device_);
    Staged all(recv, int64_t(bytes) * size_, at::kByte, device_);
    allgather_into(input.tensor(), all.tensor());
    all.finish();
  }

  std::unique_ptr<PendingCollective> start_allreduce_sum(torch::Tensor tensor) override {
    check_placement(tensor, "allreduce");
    if (tensor.numel() == 0) {
      skip();
      return std::make_unique<CompletedCollective>();
    }
    return start("allreduce", [&] {
      std::vector<at::Tensor> tensors{tensor};
      return group_->allreduce(tensors);
    });
  }

  void broadcast(const torch::Tensor& tensor, int root) override {
    check_placement(tensor, "broadcast");
    if (tensor.numel() == 0) return skip();
    c10d::BroadcastOptions options;
    options.rootRank = root;
    run("broadcast", [&] {
      std::vector<at::Tensor> tensors{tensor};
      return group_->broadcast(tensors, options);
    });
  }

  torch::Tensor allgather(const torch::Tensor& tensor) override {
    check_placement(tensor, "allgather");
    const torch::Tensor input = tensor.dim() == 0 ? tensor.reshape({1}) : tensor;
    std::vector<int64_t> shape = input.sizes().vec();
    shape[0] *= size_;
    torch::Tensor all = torch::empty(shape, input.options());
    allgather_into(input, all);
    return all;
  }

 private:
  // A launched c10d Work; wait() turns its failure into the same Error as a blocking collective.
  class InFlight final : public PendingCollective {
   public:
    InFlight(C10dCommunicator& owner, c10::intrusive_ptr<c10d::Work> work, const char* op,
             uint64_t sequence)
        : owner_(owner), work_(std::move(work)), op_(op), sequence_(sequence) {}
    void wait() override {
      if (!work_) return;
      auto work = std::move(work_);
      try {
        work->wait();
      } catch (const std::exception& e) {
        owner_.fail(op_, sequence_, e);
      }
    }

   private:
    C10dCommunicator& owner_;
    c10::intrusive_ptr<c10d::Work> work_;
    const char* op_;
    uint64_t sequence_;
  };

  // NCCL collectives take tensors on this rank's GPU, Gloo ones host tensors; both contiguous.
  void check_placement(const torch::Tensor& tensor, const char* op) const {
    if (tensor.device() != device_ || !tensor.is_contiguous())
      throw InternalError(
          fmt::format("{} {} of a {} tensor on {}: the {} communicator takes "
                      "contiguous tensors on {}",
                      backend_, op, tensor.is_contiguous() ? "contiguous" : "non-contiguous",
                      tensor.device().str(), backend_, device_.str()));
  }

  void rebuild() {
    group_.reset();  // the previous group's connections close before the new ones open
    ++generation_;
    auto store = c10::make_intrusive<c10d::PrefixStore>(
        fmt::format("pixelrec/{}/{}", backend_, generation_), store_.impl()->store);
    wait_for_all_ranks(*store, rank_, size_, rendezvous_timeout(timeout_), backend_, store_);
    try {
      group_ = factory_(store, rank_, size_, timeout_);
    } catch (const std::exception& e) {
      throw Error(fmt::format(
          "rank {}: creating the {} process group of {} ranks over {}:{} failed: {}; check that "
          "the ranks can reach each other (GLOO_SOCKET_IFNAME selects the network interface)",
          rank_, backend_, size_, store_.host(), store_.port(), message_of(e)));
    }
  }

  void skip() { ++sequence_; }  // nothing to exchange; every rank skips alike

  void reduce(void* data, size_t count, at::ScalarType type) {
    if (count == 0) return skip();
    Staged t(data, int64_t(count), type, device_);
    start_allreduce_sum(t.tensor())->wait();
    t.finish();
  }

  // Every rank's `input` into consecutive rows of `all` (size() x input's rows), in rank order.
  void allgather_into(const torch::Tensor& input, const torch::Tensor& all) {
    if (input.numel() == 0) return skip();
    const int64_t rows = input.size(0);
    run("allgather", [&] {
      std::vector<at::Tensor> inputs{input};
      std::vector<std::vector<at::Tensor>> gathered(1);
      for (int r = 0; r < size_; ++r) gathered[0].push_back(all.narrow(0, r * rows, rows));
      return group_->allgather(gathered, inputs);
    });
  }

  template <class Launch>
  std::unique_ptr<PendingCollective> start(const char* op, Launch&& launch) {
    const uint64_t sequence = ++sequence_;
    try {
      return std::make_unique<InFlight>(*this, launch(), op, sequence);
    } catch (const std::exception& e) {
      fail(op, sequence, e);
    }
  }

  template <class Launch>
  void run(const char* op, Launch&& launch) {
    start(op, std::forward<Launch>(launch))->wait();
  }

  // A failed or timed-out collective leaves the communicator unusable: NCCL's communicators are
  // aborted so that no kernel waits forever for a peer, then the error names what failed.
  [[noreturn]] void fail(const char* op, uint64_t sequence, const std::exception& e) {
    const std::string cause = message_of(e);
    if (backend_ == "nccl" && group_) {
      try {
        group_->abort();
      } catch (const std::exception&) {
        // the error below is the one that matters
      }
    }
    throw Error(fmt::format(
        "rank {}: {} {} (collective #{}) failed: {}; a collective waits at most {} "
        "(distributed.timeout_seconds) for the other ranks: another rank stalled, died or "
        "called a different collective",
        rank_, backend_, op, sequence, cause, seconds_text(timeout_)));
  }

  std::string backend_;
  RendezvousStore store_;
  int rank_, size_;
  milliseconds timeout_;
  at::Device device_;
  GroupFactory<Group> factory_;
  c10::intrusive_ptr<Group> group_;
  uint64_t sequence_ = 0;
  int generation_ = 0;
};

std::unique_ptr<dist::Communicator> make_gloo(const RendezvousStore& store, int rank,
                                              int world_size, milliseconds timeout) {
  const std::string host = store.host();
  GroupFactory<c10d::ProcessGroupGloo> factory =
      [host](const c10::intrusive_ptr<c10d::Store>& prefixed, int r, int n, milliseconds t) {
        auto options = c10d::ProcessGroupGloo::Options::create(t);
        options->devices.push_back(gloo_device(host));
        return c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, r, n, options);
      };
  return std::make_unique<C10dCommunicator<c10d::ProcessGroupGloo>>(
      "gloo", store, rank, world_size, timeout, at::Device(at::kCPU), std::move(factory));
}

#ifdef PIXELREC_WITH_CUDA
std::unique_ptr<dist::Communicator> make_nccl(const RendezvousStore& store, int rank,
                                              int world_size, milliseconds timeout,
                                              int local_rank) {
  const int devices = int(c10::cuda::device_count());
  if (devices == 0)
    throw Error("distributed.backend nccl: rank " + std::to_string(rank) +
                " sees no CUDA GPU (no GPU or driver here, or CUDA_VISIBLE_DEVICES hides them); "
                "run on GPU nodes, or use --device cpu with distributed.backend gloo or mpi");
  const auto index = c10::DeviceIndex(local_rank % devices);
  c10::cuda::set_device(index);
  // Blocking wait makes Work::wait() throw after the timeout instead of hanging.
  setenv("NCCL_BLOCKING_WAIT", "1", 0);
  setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
  GroupFactory<c10d::ProcessGroupNCCL> factory = [](const c10::intrusive_ptr<c10d::Store>& prefixed,
                                                    int r, int n, milliseconds t) {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = t;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, r, n, options);
  };
  return std::make_unique<C10dCommunicator<c10d::ProcessGroupNCCL>>(
      "nccl", store, rank, world_size, timeout, at::Device(at::kCUDA, index), std::move(factory));
}
#endif

void check_backend(const std::string& backend) {
  if (backend != "gloo" && backend != "nccl")
    throw ConfigError("c10d backend '" + backend +
                      "' is not one of gloo, nccl; set distributed.backend to gloo or nccl");
#ifndef PIXELREC_WITH_CUDA
  if (backend == "nccl")
    throw Error(
        "distributed.backend nccl: this build's LibTorch has no CUDA/NCCL; use "
        "distributed.backend gloo (or mpi under mpirun) with --device cpu, or rebuild against a "
        "CUDA LibTorch (docs/distributed.md)");
#endif
}

// Under mpirun: rank 0 listens and sends its port over MPI. All ranks on one node rendezvous on
// loopback; across nodes on MASTER_ADDR, else rank 0's host name.
RendezvousStore bootstrap_over_mpi(dist::Communicator& mpi, const RendezvousPlan& plan,
                                   int world_size, milliseconds timeout) {
  constexpr size_t kNameBytes = 256;
  std::vector<char> mine(kNameBytes, '\0'), all(kNameBytes * size_t(mpi.size()));
  const std::string name = host_name();
  std::memcpy(mine.data(), name.data(), std::min(name.size(), kNameBytes - 1));
  mpi.allgather(mine.data(), kNameBytes, all.data());
  bool one_node = true;
  for (int r = 1; r < mpi.size(); ++r)
    one_node =
        one_node && std::strncmp(all.data(), all.data() + size_t(r) * kNameBytes, kNameBytes) == 0;
  const std::string host = !plan.host.empty() ? plan.host
                           : one_node         ? std::string("127.0.0.1")
                                              : std::string(all.data());
  int32_t port = 0;
  std::optional<RendezvousStore> store;
  if (mpi.rank() == 0) {
    store = RendezvousStore::listen(host, plan.port, world_size, timeout);
    port = store->port();
  }
  mpi.broadcast(&port, sizeof port, 0);
  if (mpi.rank() != 0) store = RendezvousStore::connect(host, port, timeout);
  return *store;
}

}  // namespace

RendezvousStore RendezvousStore::listen(const std::string& host, int port, int world_size,
                                        milliseconds timeout) {
  auto impl = std::make_shared<Impl>();
  c10d::TCPStoreOptions options;
  options.port = uint16_t(port);
  options.isServer = true;
  options.numWorkers = size_t(world_size);
  options.waitWorkers = false;
  options.timeout = rendezvous_timeout(timeout);
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(host, options);
  } catch (const std::exception& e) {
    throw Error(fmt::format(
        "rank 0: cannot listen for the rendezvous on port {} ({}): {}; pick a free MASTER_PORT",
        port, host, message_of(e)));
  }
  impl->host = host;
  impl->port = int(impl->store->getPort());
  return RendezvousStore(std::move(impl));
}

RendezvousStore RendezvousStore::connect(const std::string& host, int port, milliseconds timeout) {
  auto impl = std::make_shared<Impl>();
  c10d::TCPStoreOptions options;
  options.port = uint16_t(port);
  options.isServer = false;
  options.timeout = rendezvous_timeout(timeout);
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(host, options);
  } catch (const std::exception& e) {
    throw Error(fmt::format(
        "cannot reach the rendezvous store at {}:{} within {}: {}; check MASTER_ADDR/MASTER_PORT "
        "and that rank 0 is running",
        host, port, seconds_text(options.timeout), message_of(e)));
  }
  impl->host = host;
  impl->port = port;
  return RendezvousStore(std::move(impl));
}

const std::string& RendezvousStore::host() const { return impl_->host; }
int RendezvousStore::port() const { return impl_->port; }

int slurm_rendezvous_port(const std::string& job_id) {
  const auto id = parse_int(job_id);
  if (!id || *id < 0)
    throw Error("SLURM_JOB_ID='" + job_id +
                "' is not a job number; set MASTER_PORT to the rendezvous port");
  return 12000 + int(*id % 20000);
}

RendezvousPlan plan_rendezvous(const dist::LaunchEnv& env, const dist::EnvLookup& lookup) {
  RendezvousPlan plan;
  plan.host = env.master_addr;
  plan.port = env.master_port;
  if (env.source == "openmpi") {
    plan.via_mpi = true;
    return plan;
  }
  if (env.source == "single") return {"127.0.0.1", 0, false};
  if (env.source == "slurm") {
    if (plan.host.empty())
      throw Error(
          "SLURM launch without SLURM_STEP_NODELIST/SLURM_JOB_NODELIST: the rendezvous host (the "
          "first node) is unknown; run inside an allocation or set MASTER_ADDR and use torchrun "
          "variables");
    if (plan.port == 0) {
      const auto job = lookup("SLURM_JOB_ID");
      if (!job) throw Error("SLURM launch without SLURM_JOB_ID or MASTER_PORT; set MASTER_PORT");
      plan.port = slurm_rendezvous_port(*job);
    }
    return plan;
  }
  if (plan.host.empty() || plan.port <= 0)
    throw Error(env.source + " launch of " + std::to_string(env.world_size) +
                " processes without a rendezvous address (MASTER_ADDR='" + plan.host +
                "', MASTER_PORT=" + std::to_string(plan.port) +
                "): set MASTER_ADDR and MASTER_PORT (torchrun sets both)");
  return plan;
}

std::unique_ptr<dist::Communicator> make_c10d_communicator(const RendezvousStore& store, int rank,
                                                           int world_size,
                                                           const std::string& backend,
                                                           milliseconds timeout, int local_rank) {
  check_backend(backend);
#ifdef PIXELREC_WITH_CUDA
  if (backend == "nccl") return make_nccl(store, rank, world_size, timeout, local_rank);
#else
  (void)local_rank;
#endif
  return make_gloo(store, rank, world_size, timeout);
}

std::unique_ptr<dist::Communicator> make_c10d_communicator(const dist::LaunchEnv& env,
                                                           const std::string& backend,
                                                           milliseconds timeout) {
  check_backend(backend);  // before any rendezvous: a refused backend must not block the peers
  const RendezvousPlan plan = plan_rendezvous(env, dist::process_environment());
  if (plan.via_mpi) {
    // MPI only bootstraps: it is finalised right away (when nothing else in the process uses
    // it), so a rank that fails later exits at once instead of waiting in MPI_Finalize for a
    // stalled peer; mpirun then ends the job on the non-zero exit status.
    const RendezvousStore store = [&] {
      auto mpi = dist::make_mpi_communicator();
      return bootstrap_over_mpi(*mpi, plan, env.world_size, timeout);
    }();
    return make_c10d_communicator(store, env.rank, env.world_size, backend, timeout,
                                  env.local_rank);
  }
  // torchrun >= 2.0 may host the store in its agent (TORCHELASTIC_USE_AGENT_STORE=True).
  const auto agent_store = dist::process_environment()("TORCHELASTIC_USE_AGENT_STORE");
  const bool listen = env.rank == 0 && !(agent_store && *agent_store == "True");
  const RendezvousStore store =
      listen ? RendezvousStore::listen(plan.host, plan.port, env.world_size, timeout)
             : RendezvousStore::connect(plan.host, plan.port, timeout);
  return make_c10d_communicator(store, env.rank, env.world_size, backend, timeout, env.local_rank);
}

std::string choose_backend(const std::string& configured, const dist::LaunchEnv& env,
                           const std::string& device) {
  if (configured == "nccl" && device != "cuda")
    throw ConfigError(
        "distributed.backend nccl reduces GPU tensors: run with --device cuda, or set "
        "distributed.backend to gloo or mpi for --device cpu");
  // A c10d backend named explicitly is used even for one process (as torch.distributed does), so
  // a one-GPU run exercises the same NCCL path as N GPUs.
  if (!env.distributed())
    return configured == "gloo" || configured == "nccl" ? configured : "single";
  // srun without PMI (the cluster's MpiDefault none, no --mpi): MPI_Init would abort, so auto
  // takes Gloo's TCP store (rendezvous on the first node, as for torchrun).
  const bool mpi_launch = (env.source == "openmpi" || env.source == "slurm") && env.pmi;
  if (configured == "auto") {
    if (device == "cuda") return "nccl";
    return mpi_launch ? "mpi" : "gloo";
  }
  if (configured == "mpi" && env.source == "slurm" && !env.pmi)
    throw ConfigError(
        "distributed.backend mpi needs PMI, but srun started these tasks without it (the "
        "cluster's MpiDefault is none): run srun --mpi=pmix (slurm/train.sbatch does), or set "
        "distributed.backend to gloo or auto");
  if (configured == "mpi" && !mpi_launch)
    throw ConfigError(
        "distributed.backend mpi needs an MPI launch (mpirun, or srun with PMI), "
        "but this process was launched by " +
        env.source + "; set distributed.backend to gloo or auto");
  if (configured != "mpi" && configured != "gloo" && configured != "nccl")
    throw ConfigError("distributed.backend '" + configured +
                      "' is not one of auto, mpi, gloo, nccl");
  return configured;
}

std::unique_ptr<dist::Communicator> make_training_communicator(const Config& config,
                                                               const dist::LaunchEnv& env,
                                                               const std::string& device) {
  const std::string backend = choose_backend(config.distributed.backend, env, device);
  if (backend == "single") return dist::make_single_process_communicator();
  if (backend == "mpi") return dist::make_communicator(env);
  return make_c10d_communicator(env, backend,
                                std::chrono::seconds(config.distributed.timeout_seconds));
}

}  // namespace pixelrec::dist
