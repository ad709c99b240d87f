// Training over the c10d Gloo communicator: under mpirun (MPI only bootstraps the TCPStore) and
// in a torchrun-style launch without MPI, 2 ranks make the same steps as one process on the same
// global batches; a stalled rank ends the job with an error naming rank, operation and sequence.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>

#include "support/exactness.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

const char* kYaml =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  batch_size: 128\n"
    "  epochs: 2\n"
    "  num_workers: 1\n"
    "  learning_rate: 0.005\n";

// A port nobody listens on now: bind to port 0 and release it.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(address.sin_port);
}

class GlooTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>("gloo_train");
    pipeline_ = std::make_unique<Pipeline>(make_cached_tiny_pipeline(dir_->path(), kYaml));
    const auto one = train_command("", "--run-name one");
    const auto r = run_command(one);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    pipeline_.reset();
    dir_.reset();
  }
  static std::string train_command(const std::string& prefix, const std::string& args) {
    return prefix + shell_quote(PIXELREC_BIN) + " train --no-progress " + args + " " +
           pipeline_->config_arg();
  }
  static std::string mpirun_train(const std::string& args, const std::string& env = "") {
    return train_command(env + " mpirun --allow-run-as-root --oversubscribe -np 2 ", args);
  }
  static double compare_with_one(const std::string& run) {
    const auto r = run_pixelrec("checkpoints inspect " + last("one") + " --compare " + last(run));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return max_difference(r.output);
  }
  static std::string last(const std::string& run) {
    return (dir_->path() / "checkpoints" / run / "last.pt").string();
  }
  static std::unique_ptr<ScratchDir> dir_;
  static std::unique_ptr<Pipeline> pipeline_;
};
std::unique_ptr<ScratchDir> GlooTrain::dir_;
std::unique_ptr<Pipeline> GlooTrain::pipeline_;

TEST_F(GlooTrain, MpirunWithGlooBackendMakesTheOneProcessSteps) {
  const auto r = run_command(mpirun_train("--run-name mpirun_gloo --set distributed.backend=gloo"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 ranks, communicator gloo"), std::string::npos) << r.output;
  EXPECT_LT(compare_with_one("mpirun_gloo"), 1e-5);
}

TEST_F(GlooTrain, TorchrunStyleLaunchWithoutMpiMakesTheOneProcessSteps) {
  const int port = free_port();
  ASSERT_GT(port, 0);
  const auto rank_env = [&](int rank) {
    return "RANK=" + std::to_string(rank) + " WORLD_SIZE=2 LOCAL_RANK=" + std::to_string(rank) +
           " LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " ";
  };
  const std::string args = "--run-name torchrun";
  const std::string log0 = shell_quote((dir_->path() / "rank0.log").string());
  const std::string log1 = shell_quote((dir_->path() / "rank1.log").string());
  // Both processes at once (rank 0 in the background); the exit status is 0 only if both are.
  const auto r = run_command("(" + train_command(rank_env(0), args) + " > " + log0 +
                             " 2>&1) & pid=$!; " + train_command(rank_env(1), args) + " > " + log1 +
                             " 2>&1; s1=$?; wait $pid; s0=$?; cat " + log0 + " " + log1 +
                             "; [ $s0 -eq 0 ] && [ $s1 -eq 0 ]");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 ranks, communicator gloo"), std::string::npos) << r.output;
  EXPECT_LT(compare_with_one("torchrun"), 1e-5);
}

TEST_F(GlooTrain, StalledRankEndsTheJobWithAClearError) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_command(mpirun_train(
      "--run-name stall --set distributed.backend=gloo --set distributed.timeout_seconds=3",
      "PIXELREC_TEST_STALL_AFTER_STEPS=3 PIXELREC_TEST_STALL_RANK=1"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(std::regex_search(r.output, std::regex("rank 0: gloo [a-z]+ \\(collective #[0-9]+\\) "
                                                     "failed: .*Timed out")))
      << r.output;
  EXPECT_NE(r.output.find("at most 3.0 s (distributed.timeout_seconds)"), std::string::npos)
      << r.output;
  EXPECT_LT(seconds, 120.0);
}

}  // namespace
}  // namespace pixelrec::test
