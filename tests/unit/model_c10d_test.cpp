// The c10d communicators: Gloo ranks as threads of this process over one TCPStore give exact
// collective results, a stalled peer turns into an Error naming rank, operation and sequence
// number, the rendezvous plan of each launcher, and the backend choice.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/errors.h"
#include "distributed/torch/c10d_communicator.h"
#include "distributed/torch/tensor_collectives.h"
#include "model_gloo_ranks.h"

namespace pixelrec::dist {
namespace {

using std::chrono::milliseconds;

TEST(C10dGloo, ThreeRanksGiveExactResultsForEveryOperation) {
  constexpr int kWorld = 3;
  constexpr size_t kLarge = size_t(3) << 20;  // 3 Mi floats = 12 MiB
  std::vector<std::map<std::string, std::vector<double>>> seen(kWorld);
  std::vector<std::vector<char>> gathered(kWorld);
  const auto errors =
      model::run_ranks(kWorld, std::chrono::seconds(60), [&](dist::Communicator& c) {
        const int r = c.rank();
        auto& out = seen[size_t(r)];
        out["identity"] = {double(c.rank()), double(c.size()), c.backend() == "gloo" ? 1.0 : 0.0};
        c.barrier();

        // Broadcast from a non-zero root: everybody ends with rank 1's bytes.
        std::vector<int32_t> message(1000);
        for (size_t i = 0; i < message.size(); ++i) message[i] = r == 1 ? int32_t(i * 7 + 3) : -1;
        c.broadcast(message.data(), message.size() * sizeof(int32_t), 1);
        out["broadcast"] = {double(message[0]), double(message[999]),
                            double(std::accumulate(message.begin(), message.end(), int64_t(0)))};

        std::vector<float> f = {float(r) + 0.5f, -2.0f * float(r), 1e6f};
        c.allreduce_sum(f.data(), f.size());
        out["float"] = {f[0], f[1], f[2]};
        std::vector<double> d = {0.125 * (r + 1), -double(r) / 1024};
        c.allreduce_sum(d.data(), d.size());
        out["double"] = {d[0], d[1]};
        // Large int64 values whose float/double sums would round: the sum must be exact.
        std::vector<int64_t> n = {(int64_t(1) << 60) + r, -int64_t(r) * 1000000007LL};
        c.allreduce_sum(n.data(), n.size());
        out["int64_low"] = {double(n[0] - (int64_t(3) << 60)), double(n[1])};

        // 12 MiB: element i of rank r is i % 1024 + r, so the sum is 3 * (i % 1024) + 3.
        std::vector<float> big(kLarge);
        for (size_t i = 0; i < kLarge; ++i) big[i] = float(i % 1024 + size_t(r));
        c.allreduce_sum(big.data(), big.size());
        size_t wrong = 0;
        for (size_t i = 0; i < kLarge; ++i) wrong += big[i] != float(3 * (i % 1024) + 3);
        out["big_wrong"] = {double(wrong)};

        // Allgather of equal-size buffers with rank-specific, uneven content: a length byte and
        // that many copies of 'a' + rank, the rest zeros.
        std::vector<char> send(64, 0);
        send[0] = char(5 + 20 * r);
        std::fill(send.begin() + 1, send.begin() + 1 + send[0], char('a' + r));
        gathered[size_t(r)].assign(64 * kWorld, 'x');
        c.allgather(send.data(), send.size(), gathered[size_t(r)].data());

        // A new timeout rebuilds the group; collectives continue on it.
        c.set_timeout(std::chrono::seconds(30));
        int64_t after = r + 1;
        c.allreduce_sum(&after, 1);
        out["after_set_timeout"] = {double(after)};
      });
  for (int r = 0; r < kWorld; ++r) {
    ASSERT_EQ(errors[size_t(r)], "") << "rank " << r;
    const auto& out = seen[size_t(r)];
    EXPECT_EQ(out.at("identity"), (std::vector<double>{double(r), 3, 1}));
    EXPECT_EQ(out.at("broadcast"),
              (std::vector<double>{3, 999 * 7 + 3, 999 * 1000 / 2 * 7 + 3000}));
    EXPECT_EQ(out.at("float"), (std::vector<double>{4.5, -6.0, 3e6}));
    EXPECT_EQ(out.at("double"), (std::vector<double>{0.75, -3.0 / 1024}));
    EXPECT_EQ(out.at("int64_low"), (std::vector<double>{3, -3000000021.0}));
    EXPECT_EQ(out.at("big_wrong"), (std::vector<double>{0}));
    EXPECT_EQ(out.at("after_set_timeout"), (std::vector<double>{6}));
    const auto& g = gathered[size_t(r)];
    for (int from = 0; from < kWorld; ++from) {
      const char* block = g.data() + 64 * from;
      const int length = 5 + 20 * from;
      EXPECT_EQ(int(block[0]), length) << "block of rank " << from << " on rank " << r;
      EXPECT_EQ(std::string(block + 1, size_t(length)),
                std::string(size_t(length), char('a' + from)));
      EXPECT_EQ(std::string(block + 1 + length, size_t(63 - length)),
                std::string(size_t(63 - length), '\0'));
    }
  }
}

TEST(C10dGloo, StalledPeerBecomesAnErrorNamingRankOperationAndSequence) {
  std::atomic<bool> rank0_done{false};
  const auto start = std::chrono::steady_clock::now();
  const auto errors = model::run_ranks(2, milliseconds(1500), [&](dist::Communicator& c) {
    c.barrier();  // collective #1 on both ranks
    if (c.rank() == 0) {
      float x = 1;
      struct Done {
        std::atomic<bool>& flag;
        ~Done() { flag = true; }
      } done{rank0_done};
      c.allreduce_sum(&x, 1);  // collective #2: rank 1 never joins
    } else {
      while (!rank0_done) std::this_thread::sleep_for(milliseconds(20));
    }
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(errors[1], "");
  EXPECT_NE(errors[0].find("rank 0: gloo allreduce (collective #2) failed"), std::string::npos)
      << errors[0];
  EXPECT_NE(errors[0].find("Timed out"), std::string::npos) << errors[0];  // Gloo's own message
  EXPECT_NE(errors[0].find("at most 1.5 s (distributed.timeout_seconds)"), std::string::npos)
      << errors[0];
  EXPECT_LT(seconds, 30.0);
}

TEST(C10dGloo, LaunchEnvironmentRendezvousLikeTorchrun) {
  // A free port: bind to port 0, read it back, release it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);
  close(fd);

  std::vector<int64_t> sums(2, 0);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank)
    threads.emplace_back([&, rank] {
      try {
        dist::LaunchEnv env;
        env.rank = rank;
        env.world_size = 2;
        env.source = "torchrun";
        env.master_addr = "127.0.0.1";
        env.master_port = port;
        auto comm = make_c10d_communicator(env, "gloo", std::chrono::seconds(30));
        int64_t value = 10 * (rank + 1);
        comm->allreduce_sum(&value, 1);
        sums[size_t(rank)] = value;
      } catch (const std::exception& e) {
        errors[size_t(rank)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(sums, (std::vector<int64_t>{30, 30}));
}

#ifndef PIXELREC_WITH_CUDA
TEST(C10dNccl, RefusedWithoutCuda) {
  dist::LaunchEnv env;
  env.rank = 0;
  env.world_size = 2;
  env.source = "torchrun";
  env.master_addr = "127.0.0.1";
  env.master_port = 1;  // never contacted: the backend is refused first
  try {
    make_c10d_communicator(env, "nccl", std::chrono::seconds(5));
    FAIL() << "nccl accepted without CUDA";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("this build's LibTorch has no CUDA/NCCL; use "
                                         "distributed.backend gloo"),
              std::string::npos)
        << e.what();
  }
}
#else
// The CUDA build on a machine without a GPU (CI): NCCL is compiled in and refused at run time.
TEST(C10dNccl, RefusedWithoutGpu) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is visible: covered by the GPU tests";
  const RendezvousStore server = RendezvousStore::listen("127.0.0.1", 0, 1, milliseconds(5000));
  try {
    make_c10d_communicator(server, 0, 1, "nccl", milliseconds(5000));
    FAIL() << "nccl accepted without a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 sees no CUDA GPU"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
  }
}
#endif

// The tensor collectives of a c10d communicator run on the tensors themselves and asynchronously:
// several launched reductions in flight complete in launch order with exact sums.
TEST(C10dGloo, TensorCollectivesAreAsynchronousAndExact) {
  std::vector<std::vector<float>> sums(3);
  std::vector<std::vector<int64_t>> gathered(3);
  const auto errors = model::run_ranks(3, milliseconds(20000), [&](dist::Communicator& comm) {
    const auto collectives = dist::tensor_collectives(comm);
    ASSERT_TRUE(collectives->asynchronous());
    const int r = comm.rank();
    std::vector<torch::Tensor> buckets;
    std::vector<std::unique_ptr<dist::PendingCollective>> pending;
    for (int b = 0; b < 4; ++b) {
      buckets.push_back(torch::full({5}, float(r + 1) * float(b + 1)));
      pending.push_back(collectives->start_allreduce_sum(buckets.back()));
    }
    for (auto& p : pending) p->wait();
    for (auto& b : buckets) sums[size_t(r)].push_back(b[0].item<float>());
    const torch::Tensor all =
        collectives->allgather(torch::full({2}, int64_t(10 * r), torch::kLong));
    for (int64_t k = 0; k < all.numel(); ++k) gathered[size_t(r)].push_back(all[k].item<int64_t>());
    torch::Tensor root_value = torch::full({3}, float(r == 1 ? 7 : 0));
    collectives->broadcast(root_value, 1);
    EXPECT_EQ(root_value.sum().item<float>(), 21.0f);
  });
  EXPECT_EQ(errors, (std::vector<std::string>{"", "", ""}));
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(sums[size_t(r)], (std::vector<float>{6, 12, 18, 24}));
    EXPECT_EQ(gathered[size_t(r)], (std::vector<int64_t>{0, 0, 10, 10, 20, 20}));
  }
}

// A tensor on another device than the communicator's is an internal error, not a silent copy.
TEST(C10dGloo, TensorCollectivesRefuseNonContiguousTensors) {
  const auto errors = model::run_ranks(1, milliseconds(5000), [](dist::Communicator& comm) {
    const torch::Tensor strided = torch::zeros({4, 4}).t();
    dist::tensor_collectives(comm)->start_allreduce_sum(strided);
  });
  EXPECT_NE(errors[0].find("non-contiguous"), std::string::npos) << errors[0];
}

dist::EnvLookup lookup_in(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(C10dRendezvous, PlanPerLauncher) {
  const auto torchrun = dist::detect_launch_env(lookup_in(
      {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.5"}, {"MASTER_PORT", "29501"}}));
  const RendezvousPlan t = plan_rendezvous(torchrun, lookup_in({}));
  EXPECT_EQ(t.host, "10.0.0.5");
  EXPECT_EQ(t.port, 29501);
  EXPECT_FALSE(t.via_mpi);

  const auto slurm_vars = std::map<std::string, std::string>{{"SLURM_PROCID", "3"},
                                                             {"SLURM_NTASKS", "8"},
                                                             {"SLURM_STEP_ID", "0"},
                                                             {"SLURM_JOB_NODELIST", "gpu[07-09]"},
                                                             {"SLURM_JOB_ID", "123456"}};
  const RendezvousPlan s =
      plan_rendezvous(dist::detect_launch_env(lookup_in(slurm_vars)), lookup_in(slurm_vars));
  EXPECT_EQ(s.host, "gpu07");
  EXPECT_EQ(s.port, 12000 + 123456 % 20000);
  auto with_port = slurm_vars;
  with_port["MASTER_PORT"] = "40000";
  EXPECT_EQ(
      plan_rendezvous(dist::detect_launch_env(lookup_in(with_port)), lookup_in(with_port)).port,
      40000);

  const auto mpi = dist::detect_launch_env(
      lookup_in({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}}));
  const RendezvousPlan m = plan_rendezvous(mpi, lookup_in({}));
  EXPECT_TRUE(m.via_mpi);
  EXPECT_EQ(m.port, 0);  // any free port, sent over MPI

  const auto bare = dist::detect_launch_env(lookup_in({{"RANK", "0"}, {"WORLD_SIZE", "2"}}));
  try {
    plan_rendezvous(bare, lookup_in({}));
    FAIL() << "torchrun launch without MASTER_ADDR accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("set MASTER_ADDR and MASTER_PORT"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(slurm_rendezvous_port("20000"), 12000);
  EXPECT_EQ(slurm_rendezvous_port("39999"), 31999);
  EXPECT_THROW(slurm_rendezvous_port("12x"), Error);
}

TEST(C10dRendezvous, BackendChoice) {
  dist::LaunchEnv single;
  dist::LaunchEnv mpirun{0, 2, 0, "openmpi", "", 0, true};
  dist::LaunchEnv slurm{0, 2, 0, "slurm", "n1", 0, true};  // srun --mpi=pmix
  dist::LaunchEnv slurm_without_pmi{0, 2, 0, "slurm", "n1", 0, false};
  dist::LaunchEnv torchrun{0, 2, 0, "torchrun", "127.0.0.1", 29500};
  EXPECT_EQ(choose_backend("auto", single, "cpu"), "single");
  // A c10d backend named in the config is used even for one process (one-GPU NCCL runs).
  EXPECT_EQ(choose_backend("gloo", single, "cuda"), "gloo");
  EXPECT_EQ(choose_backend("nccl", single, "cuda"), "nccl");
  EXPECT_EQ(choose_backend("mpi", single, "cpu"), "single");
  EXPECT_EQ(choose_backend("auto", mpirun, "cpu"), "mpi");
  EXPECT_EQ(choose_backend("auto", slurm, "cpu"), "mpi");
  EXPECT_EQ(choose_backend("auto", torchrun, "cpu"), "gloo");
  EXPECT_EQ(choose_backend("auto", mpirun, "cuda"), "nccl");
  EXPECT_EQ(choose_backend("auto", torchrun, "cuda"), "nccl");
  EXPECT_EQ(choose_backend("gloo", mpirun, "cpu"), "gloo");
  EXPECT_EQ(choose_backend("nccl", torchrun, "cuda"), "nccl");
  // NCCL reduces GPU tensors only.
  EXPECT_THROW(choose_backend("nccl", torchrun, "cpu"), ConfigError);
  EXPECT_THROW(choose_backend("nccl", single, "cpu"), ConfigError);
  EXPECT_EQ(choose_backend("mpi", slurm, "cpu"), "mpi");
  // srun without PMI (MpiDefault none, no --mpi): MPI_Init cannot work; Gloo's TCP store can.
  EXPECT_EQ(choose_backend("auto", slurm_without_pmi, "cpu"), "gloo");
  EXPECT_EQ(choose_backend("gloo", slurm_without_pmi, "cpu"), "gloo");
  try {
    choose_backend("mpi", slurm_without_pmi, "cpu");
    FAIL() << "mpi accepted under srun without PMI";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("srun --mpi=pmix"), std::string::npos) << e.what();
  }
  try {
    choose_backend("mpi", torchrun, "cpu");
    FAIL() << "mpi accepted under torchrun";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("launched by torchrun; set distributed.backend to gloo"),
              std::string::npos)
        << e.what();
  }
}

TEST(C10dRendezvous, TrainingCommunicatorForOneProcess) {
  Config config;
  const auto automatic = make_training_communicator(config, dist::LaunchEnv{}, "cpu");
  EXPECT_EQ(automatic->backend(), "single");
  // An explicit c10d backend runs even alone (rendezvous on loopback), like torch.distributed.
  config.distributed.backend = "gloo";
  const auto gloo = make_training_communicator(config, dist::LaunchEnv{}, "cpu");
  EXPECT_EQ(gloo->backend(), "gloo");
  EXPECT_EQ(gloo->size(), 1);
  double value = 2.5;
  gloo->allreduce_sum(&value, 1);
  EXPECT_EQ(value, 2.5);
}

}  // namespace
}  // namespace pixelrec::dist
