// The distributed search on a private one-node SLURM: slurm/hpo_submit.sh submits the coordinator
// job and a job array of 2-rank worker groups (`srun --mpi=pmix pixelrec hpo worker`) sized by its
// --array range; the study completes. Faults lose no trial: an array task cancelled mid-trial
// (SIGTERM to every process, as scancel sends) and one pre-empted by SIGUSR1 (what the script's
// --signal=USR1@180 sends) release their trials, which other groups resume; the coordinator job
// requeued mid-study comes back with --resume and finishes the study. A group that starts after
// the study finished ends at once.
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "core/strings.h"
#include "data/csv.h"
#include "support/pipeline.h"
#include "support/slurm_cluster.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

using std::chrono::seconds;

// `parallel`: trials in flight at once, the number of worker groups (the --array size).
std::string study_yaml(int n_trials, int epochs, int parallel) {
  return "model:\n"
         "  embedding_dim: 16\n"
         "  fusion_hidden_dims: [32, 16]\n"
         "training:\n"
         "  epochs: " +
         std::to_string(epochs) +
         "\n"
         "  batch_size: 64\n"
         "  early_stopping_metric: val_ndcg@10\n"
         "evaluation:\n"
         "  k_values: [5, 10]\n"
         "hyperparameter_search:\n"
         "  study_name: s\n"
         "  n_trials: " +
         std::to_string(n_trials) +
         "\n"
         "  parallel: " +
         std::to_string(parallel) +
         "\n"
         "  sampler: random\n"
         "  pruner: none\n"
         "  seed: 3\n"
         "  optimize_metric: val_ndcg@10\n"
         "  coordinator: {lease_seconds: 20, heartbeat_seconds: 2, connect_timeout_seconds: 120}\n"
         "  search_space:\n"
         "    training.learning_rate: {type: float, low: 0.001, high: 0.02, log: true}\n";
}

struct TrialRow {
  std::string state, attempt, message;
};

std::vector<TrialRow> read_trials(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  const CsvTable t = read_csv_table(file);
  const size_t state = t.require_column("state", file), attempt = t.require_column("attempt", file),
               message = t.require_column("message", file);
  std::vector<TrialRow> rows;
  for (size_t r = 0; r < t.rows(); ++r)
    rows.push_back({t.columns[state][r], t.columns[attempt][r], t.columns[message][r]});
  return rows;
}

class SlurmHpo : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<SlurmCluster>("slurm_hpo");
    SLURM_SKIP_OR_FAIL(*cluster_);
  }
  void TearDown() override { cluster_.reset(); }
  fs::path work() const { return cluster_->root() / "work"; }
  fs::path study() const { return work() / "results/hpo/s"; }

  // The command docs/hpo.md shows: coordinator + worker array `array`, run from the work folder.
  // Returns {coordinator job, worker array job}.
  std::pair<std::string, std::string> submit(const Pipeline& p, const std::string& array,
                                             const std::string& env = "") {
    const auto r = cluster_->run(
        "cd " + shell_quote(work().string()) + " && CONFIG=" + shell_quote(p.config.string()) +
        " PIXELREC=" + shell_quote(PIXELREC_BIN) + " " + env + " " +
        shell_quote(std::string(PIXELREC_SOURCE_DIR) + "/slurm/hpo_submit.sh") + " " + array +
        " --cpus-per-task=1");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::smatch m;
    EXPECT_TRUE(
        std::regex_search(r.output, m, std::regex("coordinator job (\\d+), worker array (\\d+)")))
        << r.output;
    return {m[1].str(), m[2].str()};
  }
  std::string logs() const {
    std::string out;
    std::error_code ec;
    if (!fs::exists(work() / "logs", ec)) return out;
    for (const auto& e : fs::directory_iterator(work() / "logs"))
      out += "\n--- " + e.path().filename().string() + "\n" + read_text(e.path());
    return out;
  }
  std::string worker_log(const std::string& array, int task) const {
    const fs::path log =
        work() / "logs" / ("pixelrec-hpo-workers-" + array + "_" + std::to_string(task) + ".out");
    std::error_code ec;
    return fs::exists(log, ec) ? read_text(log) : "";
  }
  bool wait_for_worker_log(const std::string& array, int task, const std::string& text,
                           seconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (worker_log(array, task).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
  // Waits for the coordinator job and every array task to end; the coordinator's final state.
  SlurmJob wait_for_study(const std::string& coordinator, const std::string& array, int tasks) {
    const auto done =
        cluster_->wait_for(coordinator, "COMPLETED FAILED CANCELLED TIMEOUT", seconds(420));
    for (int t = 0; t < tasks; ++t)
      cluster_->wait_for(array + "_" + std::to_string(t), "COMPLETED FAILED CANCELLED TIMEOUT",
                         seconds(120));
    return done;
  }

  std::unique_ptr<SlurmCluster> cluster_;
};

// Each trial's rank 0 pauses 6 s: longer than the worker script's 5 s poll for coordinator.json,
// so both groups join before the study is over (a tiny trial takes well under a second).
TEST_F(SlurmHpo, SubmitScriptCompletesAStudyWithAnArrayOfTwoRankWorkerGroups) {
  const Pipeline p = make_cached_tiny_pipeline(work(), study_yaml(3, 2, 2));
  const auto [coordinator, array] =
      submit(p, "0-1", "PIXELREC_TEST_STALL_AFTER_STEPS=3 PIXELREC_TEST_STALL_SECONDS=6");
  const auto done = wait_for_study(coordinator, array, 2);
  ASSERT_EQ(done.state, "COMPLETED") << logs() << cluster_->daemon_logs();
  // --array 0-1: exactly two worker groups, each of 2 ranks, and both ended cleanly.
  EXPECT_EQ(cluster_->job(array + "_2").state, "");
  for (int t = 0; t < 2; ++t) {
    const auto task = cluster_->job(array + "_" + std::to_string(t));
    EXPECT_EQ(task.state, "COMPLETED") << logs();
    EXPECT_EQ(task.exit_code, "0:0");
  }
  const std::string all = logs();
  for (int t = 0; t < 2; ++t)
    EXPECT_NE(worker_log(array, t).find("(2 rank(s)) joined study 's'"), std::string::npos) << all;
  const auto trials = read_trials(study() / "trials.csv");
  ASSERT_EQ(trials.size(), 3u) << all;
  for (const auto& t : trials) EXPECT_EQ(t.state, "COMPLETE") << t.message;
  std::error_code ec;
  EXPECT_TRUE(fs::exists(study() / "best_params.json", ec));
  EXPECT_TRUE(fs::exists(study() / "best_test_metrics.json", ec));

  // A group that starts after the study finished (an array task queued behind the others) finds
  // the study's finished marker and ends at once with status 0, its allocation freed.
  const auto late = cluster_->run(
      "cd " + shell_quote(work().string()) + " && CONFIG=" + shell_quote(p.config.string()) +
      " PIXELREC=" + shell_quote(PIXELREC_BIN) + " sbatch --parsable --array=2 --cpus-per-task=1 " +
      shell_quote(std::string(PIXELREC_SOURCE_DIR) + "/slurm/hpo_workers.sbatch"));
  ASSERT_EQ(late.exit_code, 0) << late.output;
  const std::string late_array = std::string(trim(late.output));
  const auto late_task =
      cluster_->wait_for(late_array + "_2", "COMPLETED FAILED CANCELLED TIMEOUT", seconds(60));
  EXPECT_EQ(late_task.state, "COMPLETED") << logs();
  EXPECT_EQ(late_task.exit_code, "0:0");
  const std::string late_log = worker_log(late_array, 2);
  EXPECT_NE(late_log.find("study 's' finished (3 trials, n_trials 3)"), std::string::npos)
      << late_log;
  EXPECT_NE(late_log.find("has nothing to do"), std::string::npos) << late_log;
  EXPECT_EQ(read_trials(study() / "trials.csv").size(), 3u);
}

TEST_F(SlurmHpo, CancelledAndPreemptedGroupsAndARequeuedCoordinatorLoseNoTrial) {
  const Pipeline p = make_cached_tiny_pipeline(work(), study_yaml(4, 3, 3));
  // Every attempt's rank 0 pauses 8 s after its step 3: a window to act inside a trial.
  const auto [coordinator, array] =
      submit(p, "0-2", "PIXELREC_TEST_STALL_AFTER_STEPS=3 PIXELREC_TEST_STALL_SECONDS=8");

  // Group 0 cancelled mid-trial (scancel: SIGTERM to the batch shell and every task).
  ASSERT_TRUE(wait_for_worker_log(array, 0, "pauses 8 s after step 3", seconds(240)))
      << logs() << cluster_->daemon_logs();
  ASSERT_EQ(cluster_->run("scancel " + array + "_0").exit_code, 0);
  // Group 1 pre-empted mid-trial: SIGUSR1 to its tasks, as --signal=USR1@180 sends it.
  ASSERT_TRUE(wait_for_worker_log(array, 1, "pauses 8 s after step 3", seconds(240))) << logs();
  ASSERT_EQ(cluster_->run("scancel --signal=USR1 " + array + "_1").exit_code, 0);
  // Both groups checkpointed, released their trial and exited 128 + signal.
  EXPECT_EQ(cluster_->wait_for(array + "_0", "CANCELLED COMPLETED FAILED", seconds(60)).state,
            "CANCELLED")
      << logs();
  const auto preempted =
      cluster_->wait_for(array + "_1", "FAILED COMPLETED CANCELLED", seconds(60));
  EXPECT_EQ(preempted.state, "FAILED") << logs();
  EXPECT_EQ(preempted.exit_code, "138:0") << logs();
  EXPECT_NE(worker_log(array, 0).find("pre-empted by signal 15"), std::string::npos) << logs();
  EXPECT_NE(worker_log(array, 0).find("(exit status 143)"), std::string::npos) << logs();
  EXPECT_NE(worker_log(array, 1).find("pre-empted by signal 10"), std::string::npos) << logs();
  EXPECT_NE(worker_log(array, 1).find("(exit status 138)"), std::string::npos) << logs();
  const std::string coordinator_log =
      read_text(work() / "logs" / ("pixelrec-hpo-coordinator-" + coordinator + ".out"));
  EXPECT_TRUE(std::regex_search(coordinator_log,
                                std::regex("released by worker .*pre-empted by signal 15")))
      << coordinator_log;
  EXPECT_TRUE(std::regex_search(coordinator_log,
                                std::regex("released by worker .*pre-empted by signal 10")))
      << coordinator_log;

  // The coordinator job requeued mid-study: its next run continues the study with --resume.
  ASSERT_EQ(cluster_->run("scontrol requeue " + coordinator).exit_code, 0) << logs();
  ASSERT_TRUE(cluster_->wait_for_requeue(coordinator, 1)) << logs();
  const auto done = wait_for_study(coordinator, array, 3);
  const std::string all = logs();
  ASSERT_EQ(done.state, "COMPLETED") << all << cluster_->daemon_logs();
  EXPECT_EQ(done.restarts, 1);
  EXPECT_NE(all.find("resuming study 's'"), std::string::npos) << all;
  // No trial lost: all four COMPLETE, the interrupted ones on a later attempt.
  const auto trials = read_trials(study() / "trials.csv");
  ASSERT_EQ(trials.size(), 4u) << all;
  int retried = 0;
  for (const auto& t : trials) {
    EXPECT_EQ(t.state, "COMPLETE") << t.message << all;
    retried += t.attempt != "1";
  }
  EXPECT_GE(retried, 2) << all;
  std::error_code ec;
  EXPECT_TRUE(fs::exists(study() / "best_test_metrics.json", ec)) << all;
}

}  // namespace
}  // namespace pixelrec::test
