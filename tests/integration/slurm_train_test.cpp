// slurm/train.sbatch on a private one-node SLURM (MpiDefault=none): 2 tasks train under
// `srun --mpi=pmix`; SLURM's pre-emption signal to the batch shell (`scancel --signal=USR1
// --batch`, what `--signal=B:USR1@90` sends) is forwarded to the step, every rank checkpoints
// mid-epoch and exits 138, the job requeues itself and its next run resumes from last.pt to the
// same parameters as an uninterrupted run. A batch script's own SLURM variables (no srun step)
// are no launch: the script runs one process itself, or N ranks with mpirun.
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "support/exactness.h"
#include "support/pipeline.h"
#include "support/slurm_cluster.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

const char* kYaml =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  batch_size: 32\n"
    "  epochs: 2\n"
    "  learning_rate: 0.005\n"
    "evaluation:\n"
    "  num_negatives: 50\n";

class SlurmTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = std::make_unique<SlurmCluster>("slurm_train");
    if (!cluster_->unavailable().empty()) return;
    pipeline_ =
        std::make_unique<Pipeline>(make_cached_tiny_pipeline(cluster_->root() / "work", kYaml));
    fs::create_directories(cluster_->root() / "work" / "logs");
  }
  static void TearDownTestSuite() {
    pipeline_.reset();
    cluster_.reset();
  }
  void SetUp() override { SLURM_SKIP_OR_FAIL(*cluster_); }
  // The command docs/distributed.md shows, from the run's folder, on 2 tasks of one node.
  static std::string submit(const std::string& run, const std::string& env = "") {
    const auto r =
        cluster_->run("cd " + shell_quote((cluster_->root() / "work").string()) +
                      " && CONFIG=" + shell_quote(pipeline_->config.string()) +
                      " PIXELREC=" + shell_quote(PIXELREC_BIN) + " RUN=" + run + " " + env +
                      " sbatch --parsable --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 " +
                      shell_quote(std::string(PIXELREC_SOURCE_DIR) + "/slurm/train.sbatch"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.substr(0, r.output.find_first_of(";\n"));
  }
  static std::string job_log(const std::string& id) {
    const fs::path log = cluster_->root() / "work" / "logs" / ("pixelrec-train-" + id + ".out");
    std::error_code ec;
    return fs::exists(log, ec) ? read_text(log) : "";
  }
  static bool wait_for_log(const std::string& id, const std::string& text,
                           std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (job_log(id).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
  static std::string last(const std::string& run) {
    return (pipeline_->root / "checkpoints" / run / "last.pt").string();
  }
  static std::unique_ptr<SlurmCluster> cluster_;
  static std::unique_ptr<Pipeline> pipeline_;
};
std::unique_ptr<SlurmCluster> SlurmTrain::cluster_;
std::unique_ptr<Pipeline> SlurmTrain::pipeline_;

TEST_F(SlurmTrain, PreemptedJobRequeuesAndEndsWithTheUninterruptedParameters) {
  // Uninterrupted: both tasks train as 2 MPI ranks (each holds its item shard).
  const std::string straight = submit("straight");
  const auto done = cluster_->wait_for(straight, "COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL");
  const std::string straight_log = job_log(straight);
  ASSERT_EQ(done.state, "COMPLETED") << straight_log << cluster_->daemon_logs();
  EXPECT_EQ(done.exit_code, "0:0");
  EXPECT_NE(straight_log.find("[rank 0/2]"), std::string::npos) << straight_log;
  EXPECT_NE(straight_log.find("rank 0 item embeddings: item rows [0, "), std::string::npos)
      << straight_log;
  const std::string expected = digest_of(straight_log);
  ASSERT_FALSE(expected.empty()) << straight_log;

  // Pre-empted mid-epoch: rank 0 pauses after step 3 (so the signal lands inside the epoch), the
  // batch shell gets SIGUSR1 as SLURM sends it, forwards it, and the ranks stop after step 4.
  const std::string job =
      submit("preempted", "PIXELREC_TEST_STALL_AFTER_STEPS=3 PIXELREC_TEST_STALL_SECONDS=15");
  ASSERT_TRUE(wait_for_log(job, "pauses 15 s after step 3", std::chrono::seconds(180)))
      << job_log(job) << cluster_->daemon_logs();
  const auto signal = cluster_->run("scancel --signal=USR1 --batch " + job);
  ASSERT_EQ(signal.exit_code, 0) << signal.output;
  ASSERT_TRUE(wait_for_log(job, "requeueing " + job, std::chrono::seconds(120))) << job_log(job);
  ASSERT_TRUE(cluster_->wait_for_requeue(job, 1)) << job_log(job);
  const auto resumed = cluster_->wait_for(job, "COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL");
  const std::string log = job_log(job);
  ASSERT_EQ(resumed.state, "COMPLETED") << log << cluster_->daemon_logs();
  EXPECT_EQ(resumed.restarts, 1);
  // Both ranks checkpointed at the same mid-epoch step and exited 128 + SIGUSR1.
  EXPECT_NE(log.find("SIGUSR1: stopping the step"), std::string::npos) << log;
  EXPECT_TRUE(std::regex_search(log, std::regex("signal 10 received: saved .* at epoch 1 step 4")))
      << log;
  EXPECT_NE(log.find("pre-empted: checkpoint saved; requeueing " + job), std::string::npos) << log;
  EXPECT_NE(log.find("exit code 138"), std::string::npos) << log;
  // The requeued run resumed from last.pt and ended on the uninterrupted run's parameters.
  EXPECT_NE(log.find("resum"), std::string::npos) << log;
  EXPECT_EQ(digest_of(log.substr(log.find("requeueing"))), expected) << log;
  const auto compare =
      run_pixelrec("checkpoints inspect " + last("preempted") + " --compare " + last("straight"));
  EXPECT_EQ(compare.exit_code, 0) << compare.output;
  EXPECT_LT(max_difference(compare.output), 1e-6) << compare.output;
}

// MpiDefault=none and no --mpi: srun's tasks have no PMI, so training takes Gloo's TCP store
// instead of MPI_Init (which would abort) and makes the one-process steps; a step that needs
// MPI says how to launch it.
TEST_F(SlurmTrain, SrunWithoutPmiTrainsOverGlooAndMpiStepsSayWhatToPass) {
  const std::string config = pipeline_->config_arg();
  const auto one =
      run_pixelrec("train --no-progress --run-name one --set training.epochs=1 " + config);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two =
      cluster_->run("srun --nodes=1 --ntasks=2 --cpus-per-task=1 " + shell_quote(PIXELREC_BIN) +
                    " train --no-progress --run-name plain --set training.epochs=1 " + config);
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("[rank 0/2] 2 ranks, communicator gloo"), std::string::npos)
      << two.output;
  const auto compare =
      run_pixelrec("checkpoints inspect " + last("plain") + " --compare " + last("one"));
  EXPECT_EQ(compare.exit_code, 0) << compare.output;
  EXPECT_LT(max_difference(compare.output), 1e-5) << compare.output;

  const auto cache = cluster_->run("srun --nodes=1 --ntasks=2 --cpus-per-task=1 " +
                                   shell_quote(PIXELREC_BIN) + " cache " + config);
  EXPECT_NE(cache.exit_code, 0) << cache.output;
  EXPECT_NE(cache.output.find("tasks without PMI (the cluster's MpiDefault is none)"),
            std::string::npos)
      << cache.output;
  EXPECT_NE(cache.output.find("run srun --mpi=pmix"), std::string::npos) << cache.output;
}

// Inside `sbatch --ntasks=2`, outside any srun step, SLURM_PROCID=0 and SLURM_NTASKS=2 are set
// for the script and passed on by mpirun to every rank it starts. `pixelrec train` run by the
// script is one process (it used to wait for a rank 1, here until the 30 s timeout), and
// `mpirun -np 2` in the script trains as ranks 0 and 1 (both used to take themselves for rank 0),
// making the one-process steps.
TEST_F(SlurmTrain, ABatchScriptRunsOneProcessItselfAndMpirunRanksInsideIt) {
  const fs::path work = cluster_->root() / "work";
  const std::string train = shell_quote(PIXELREC_BIN) +
                            " train --no-progress --set training.epochs=1 "
                            "--set distributed.timeout_seconds=30 " +
                            pipeline_->config_arg();
  const fs::path script = work / "batch_launches.sh";
  write_text(script, "#!/bin/bash\nset -e\ncd " + shell_quote(work.string()) + "\n" + train +
                         " --run-name batch_alone\n" +
                         "mpirun --allow-run-as-root --oversubscribe -np 2 " + train +
                         " --run-name batch_mpirun\n");
  const auto r = cluster_->run("sbatch --parsable --nodes=1 --ntasks=2 --cpus-per-task=1 -o " +
                               shell_quote((work / "logs" / "batch-%j.out").string()) + " " +
                               shell_quote(script.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string job = r.output.substr(0, r.output.find_first_of(";\n"));
  const auto done = cluster_->wait_for(job, "COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL",
                                       std::chrono::seconds(300));
  const fs::path log_file = work / "logs" / ("batch-" + job + ".out");
  std::error_code ec;
  const std::string log = fs::exists(log_file, ec) ? read_text(log_file) : "";
  ASSERT_EQ(done.state, "COMPLETED") << log << cluster_->daemon_logs();
  const size_t mpirun_part = log.find("[rank 0/2]");
  ASSERT_NE(mpirun_part, std::string::npos) << log;
  EXPECT_EQ(log.substr(0, mpirun_part).find("[rank "), std::string::npos) << log;  // one process
  EXPECT_NE(log.find("[rank 0/2] 2 ranks, communicator mpi"), std::string::npos) << log;
  EXPECT_NE(log.find("rank 0 item embeddings: item rows [0, "), std::string::npos) << log;
  const auto compare = run_pixelrec("checkpoints inspect " + last("batch_mpirun") + " --compare " +
                                    last("batch_alone"));
  EXPECT_EQ(compare.exit_code, 0) << compare.output;
  EXPECT_LT(max_difference(compare.output), 1e-5) << compare.output;
}

}  // namespace
}  // namespace pixelrec::test
