// `pixelrec hpo coordinator` and `pixelrec hpo worker` as separate child processes on a tiny
// pipeline, through the faults of a long study: the coordinator killed (SIGKILL, by the test hook
// PIXELREC_TEST_COORDINATOR_KILL) at every point of a trial and resumed, a worker pre-empted by
// SIGTERM, a worker whose coordinator comes back on another port, and a worker whose training
// hangs. Every study ends with every trial COMPLETE and each trial's epochs trained exactly once.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "data/csv.h"
#include "support/background_command.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

using namespace std::chrono_literals;

// Two trials of two epochs; short heartbeats and a worker that gives up on an unreachable
// coordinator after 3 s (overridden per test with --set).
const char* kStudy =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  epochs: 2\n"
    "  batch_size: 64\n"
    "  num_workers: 1\n"
    "  early_stopping_metric: val_ndcg@10\n"
    "evaluation:\n"
    "  k_values: [5, 10]\n"
    "hyperparameter_search:\n"
    "  n_trials: 2\n"
    "  sampler: random\n"
    "  pruner: none\n"
    "  seed: 3\n"
    "  optimize_metric: val_ndcg@10\n"
    "  coordinator: {lease_seconds: 10, heartbeat_seconds: 1, connect_timeout_seconds: 3}\n"
    "  search_space:\n"
    "    training.learning_rate: {type: float, low: 0.001, high: 0.02, log: true}\n";

class HpoWorkerCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("hpo_worker_cli");
    pipeline_ = new Pipeline(make_cached_tiny_pipeline(dir_->path(), kStudy));
  }
  static void TearDownTestSuite() {
    delete pipeline_;
    delete dir_;
  }

  // `pixelrec <args>` for study `study`, with environment assignments `env` ("A=1 B=2").
  static std::string command(const std::string& study, const std::string& args,
                             const std::string& env = "") {
    return "env " + env + " " + shell_quote(PIXELREC_BIN) + " " + args + " " +
           pipeline_->config_arg() + " --set hyperparameter_search.study_name=" + study +
           " --log-level info";
  }
  static std::unique_ptr<BackgroundCommand> coordinator(const std::string& study,
                                                        const std::string& log,
                                                        const std::string& env = "",
                                                        const std::string& extra = "") {
    auto c = std::make_unique<BackgroundCommand>(command(study, "hpo coordinator " + extra, env),
                                                 dir_->path() / log);
    EXPECT_TRUE(c->wait_for_log("listening on")) << c->log();
    return c;
  }
  static std::unique_ptr<BackgroundCommand> worker(const std::string& study, const std::string& log,
                                                   const std::string& env = "",
                                                   const std::string& extra = "") {
    return std::make_unique<BackgroundCommand>(command(study, "hpo worker " + extra, env),
                                               dir_->path() / log);
  }
  static fs::path study_dir(const std::string& study) {
    return dir_->path() / "results" / "hpo" / study;
  }

  struct TrialRow {
    std::string state, value, attempt, message;
  };
  static std::vector<TrialRow> trials(const std::string& study) {
    const fs::path file = study_dir(study) / "trials.csv";
    const CsvTable t = read_csv_table(file);
    std::vector<TrialRow> rows;
    for (size_t r = 0; r < t.rows(); ++r)
      rows.push_back({t.columns[t.require_column("state", file)][r],
                      t.columns[t.require_column("value", file)][r],
                      t.columns[t.require_column("attempt", file)][r],
                      t.columns[t.require_column("message", file)][r]});
    return rows;
  }
  // val_ndcg@10 of each epoch the trial's run folder recorded.
  static std::vector<double> recorded_values(const std::string& study, int trial) {
    std::vector<double> values;
    const fs::path metrics =
        study_dir(study) / "trials" / ("trial_000" + std::to_string(trial)) / "metrics.jsonl";
    for (const std::string& line : split(read_text(metrics), '\n'))
      if (!trim(line).empty())
        values.push_back(nlohmann::json::parse(line).at("val_ndcg@10").get<double>());
    return values;
  }
  // Every trial COMPLETE with the best of its two recorded epochs; trial `resumed` on attempt 2.
  static void expect_every_trial_complete(const std::string& study, int resumed) {
    const auto rows = trials(study);
    ASSERT_EQ(rows.size(), 2u);
    for (int i = 0; i < 2; ++i) {
      SCOPED_TRACE("trial " + std::to_string(i));
      EXPECT_EQ(rows[size_t(i)].state, "COMPLETE") << rows[size_t(i)].message;
      EXPECT_EQ(rows[size_t(i)].attempt, i == resumed ? "2" : "1");
      const auto values = recorded_values(study, i);
      ASSERT_EQ(values.size(), 2u);  // each epoch trained once, none lost, none repeated
      const double best = *std::max_element(values.begin(), values.end());
      EXPECT_NEAR(std::stod(rows[size_t(i)].value), best, 1e-12);
    }
  }

  static ScratchDir* dir_;
  static Pipeline* pipeline_;
};

ScratchDir* HpoWorkerCli::dir_ = nullptr;
Pipeline* HpoWorkerCli::pipeline_ = nullptr;

// The coordinator dies (SIGKILL) at each point of trial 0: right after leasing it (before its
// first epoch), when its first epoch's report arrives, right after answering it (during the
// second epoch), when its last epoch's report arrives, and when its finish arrives. An epoch
// takes a fraction of a second here, so where the worker must notice the loss mid-epoch (through
// its heartbeat) the stall hook holds training for 3 s. The worker stops as the loss is noticed
// with its checkpoint saved, retries for connect_timeout_seconds and exits 75; the study resumed
// with --resume ends with every trial COMPLETE, trial 0 resumed from that checkpoint on attempt 2
// and valued over both its epochs (none FAILED for lack of a value, none stopped as if pruned).
TEST_F(HpoWorkerCli, ACoordinatorKilledAtAnyPointOfATrialResumesToEveryTrialComplete) {
  struct Point {
    std::string kill, stall, stopped;  // the hook, the stall hook, what the worker logs
  };
  const std::vector<Point> points = {
      {"leased:0", "PIXELREC_TEST_STALL_AFTER_STEPS=1", "stopped at epoch 1 step 2"},
      {"report:0:1", "", "stopped after epoch 1 of 2"},
      // 85 steps an epoch: step 90 is the 5th of epoch 2.
      {"reported:0:1", "PIXELREC_TEST_STALL_AFTER_STEPS=90", "stopped at epoch 2 step 6"},
      {"report:0:2", "", "stopped after epoch 2 of 2"},
      {"finish:0", "", "could not tell the coordinator"}};
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& point = points[i];
    SCOPED_TRACE(point.kill);
    const std::string study = "kill" + std::to_string(i);
    {
      auto c =
          coordinator(study, study + "-1.coord", "PIXELREC_TEST_COORDINATOR_KILL=" + point.kill);
      auto w = worker(study, study + "-1.worker", point.stall + " PIXELREC_TEST_STALL_SECONDS=3");
      EXPECT_EQ(c->wait(), 128 + SIGKILL) << c->log();
      EXPECT_EQ(w->wait(), 75) << w->log();
      EXPECT_NE(w->log().find(point.stopped), std::string::npos) << w->log();
      EXPECT_NE(w->log().find("cannot reach the coordinator"), std::string::npos) << w->log();
      EXPECT_EQ(w->log().find("(a pruned trial)"), std::string::npos) << w->log();
    }
    auto c = coordinator(study, study + "-2.coord", "", "--resume");
    auto w = worker(study, study + "-2.worker");
    EXPECT_EQ(w->wait(), 0) << w->log();
    EXPECT_EQ(c->wait(), 0) << c->log();
    EXPECT_NE(w->log().find("trial 0 attempt 2: resuming from"), std::string::npos) << w->log();
    expect_every_trial_complete(study, 0);
  }
}

// The same worker outlives its coordinator: it keeps retrying, finds the coordinator restarted
// with --resume on a new port with a new token (coordinator.json, coordinator.token), and
// finishes the study itself, resuming its interrupted trial.
TEST_F(HpoWorkerCli, AWorkerReconnectsToItsCoordinatorRestartedWithResume) {
  const std::string study = "reconnect";
  auto c = coordinator(study, "reconnect-1.coord", "PIXELREC_TEST_COORDINATOR_KILL=reported:0:1");
  auto w = worker(study, "reconnect.worker", "",
                  "--set hyperparameter_search.coordinator.connect_timeout_seconds=120");
  EXPECT_EQ(c->wait(), 128 + SIGKILL) << c->log();
  ASSERT_TRUE(w->wait_for_log("reconnecting")) << w->log();
  auto resumed = coordinator(study, "reconnect-2.coord", "", "--resume");
  EXPECT_EQ(w->wait(), 0) << w->log();
  EXPECT_EQ(resumed->wait(), 0) << resumed->log();
  EXPECT_NE(w->log().find("reconnected to the coordinator"), std::string::npos) << w->log();
  EXPECT_NE(w->log().find("trial 0 attempt 2: resuming from"), std::string::npos) << w->log();
  expect_every_trial_complete(study, 0);
}

// SIGTERM (pre-emption) mid-trial: the worker checkpoints, releases the trial and exits 143
// instead of failing it and leasing the next; the coordinator requeues it at once (no lease
// expiry: lease_seconds is 60) and the next worker resumes it from that checkpoint.
TEST_F(HpoWorkerCli, APreemptedWorkerReleasesItsTrialWhichResumesFromItsCheckpoint) {
  const std::string study = "preempt";
  auto c = coordinator(study, "preempt.coord", "",
                       "--set hyperparameter_search.coordinator.lease_seconds=60");
  auto first = worker(study, "preempt-1.worker", "PIXELREC_TEST_SIGNAL_AFTER_STEPS=3");
  EXPECT_EQ(first->wait(), 128 + SIGTERM) << first->log();
  EXPECT_NE(first->log().find("trial 0 pre-empted by signal 15"), std::string::npos)
      << first->log();
  EXPECT_EQ(first->log().find("trial 1 (attempt"), std::string::npos)
      << "leased more after the signal";
  EXPECT_NE(c->log().find("trial 0 released by worker"), std::string::npos) << c->log();
  auto second = worker(study, "preempt-2.worker");
  EXPECT_EQ(second->wait(), 0) << second->log();
  EXPECT_EQ(c->wait(), 0) << c->log();
  EXPECT_NE(second->log().find("trial 0 attempt 2: resuming from"), std::string::npos)
      << second->log();
  EXPECT_EQ(c->log().find("lease expired"), std::string::npos) << c->log();
  expect_every_trial_complete(study, 0);
}

// Training hangs (the stall hook sleeps 15 s after step 2) with the process alive: after
// stall_timeout_seconds the worker stops renewing, the lease expires and another worker runs
// the trial; the hung worker, once awake, abandons the trial without writing to its folders.
TEST_F(HpoWorkerCli, AWorkerWhoseTrainingHangsLosesItsLeaseAndTheTrialRunsElsewhere) {
  const std::string study = "stall";
  const std::string timing =
      "--set hyperparameter_search.coordinator.lease_seconds=4 "
      "--set hyperparameter_search.coordinator.stall_timeout_seconds=2";
  auto c = coordinator(study, "stall.coord", "", timing);
  auto hung = worker(study, "stall-1.worker",
                     "PIXELREC_TEST_STALL_AFTER_STEPS=2 PIXELREC_TEST_STALL_SECONDS=15", timing);
  ASSERT_TRUE(hung->wait_for_log("trial 0 (attempt 1)")) << hung->log();
  auto other = worker(study, "stall-2.worker", "", timing);
  EXPECT_EQ(other->wait(), 0) << other->log();
  EXPECT_EQ(c->wait(), 0) << c->log();
  // Awake after the study ended, the hung worker finds the coordinator still draining (done) or
  // gone, with the study's finished marker in its place: done either way.
  EXPECT_EQ(hung->wait(), 0) << hung->log();
  EXPECT_NE(hung->log().find("training made no progress for"), std::string::npos) << hung->log();
  EXPECT_NE(hung->log().find("abandoned"), std::string::npos) << hung->log();
  EXPECT_NE(c->log().find("its last heartbeat said training step 2"), std::string::npos)
      << c->log();
  EXPECT_NE(other->log().find("trial 0 (attempt 2)"), std::string::npos) << other->log();
  expect_every_trial_complete(study, 0);
}

// A worker group that starts after its study finished (an array task queued behind the others)
// ends at once with status 0 and says so, instead of waiting out connect_timeout_seconds for a
// coordinator that will not come back; one whose config asks for more trials than the study ran
// keeps waiting for the coordinator that will run them (here: gives up after its 3 s).
TEST_F(HpoWorkerCli, AWorkerStartingAfterItsStudyFinishedHasNothingToDo) {
  const std::string study = "late";
  auto c = coordinator(study, "late.coord");
  auto w = worker(study, "late-1.worker");
  EXPECT_EQ(w->wait(), 0) << w->log();
  EXPECT_EQ(c->wait(), 0) << c->log();

  const auto start = std::chrono::steady_clock::now();
  auto late = worker(study, "late-2.worker");
  EXPECT_EQ(late->wait(), 0) << late->log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  EXPECT_NE(late->log().find("study 'late' finished (2 trials, n_trials 2)"), std::string::npos)
      << late->log();
  EXPECT_NE(late->log().find("has nothing to do"), std::string::npos) << late->log();
  EXPECT_EQ(late->log().find("trial 0"), std::string::npos) << late->log();

  auto more = worker(study, "late-3.worker", "", "--set hyperparameter_search.n_trials=3");
  EXPECT_EQ(more->wait(), 1) << more->log();
  EXPECT_NE(more->log().find("retried for 3 s"), std::string::npos) << more->log();
  expect_every_trial_complete(study, -1);
}

}  // namespace
}  // namespace pixelrec::test
