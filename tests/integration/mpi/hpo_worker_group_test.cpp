// A 2-rank worker group (`pixelrec hpo` with ranks_per_group 2: each group is `mpirun -np 2
// pixelrec hpo worker`): a trial the median rule prunes stops on both ranks after the same epoch,
// and the group goes on to run the next trials in step (a rank left behind would deadlock them).
// A group never waits forever: when rank 0 cannot join the study every rank ends with its error,
// and a stalled rank ends the group through the collective timeout, as in `pixelrec train`.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/strings.h"
#include "data/csv.h"
#include "support/background_command.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

// With this seed the random sampler's trials 1 and 3 have learning rates 1.3e-6 and 1.3e-4: both
// are below the median of the completed trials after epoch 1 and are pruned there.
const char* kStudy =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  epochs: 3\n"
    "  batch_size: 256\n"
    "  num_workers: 1\n"
    "  early_stopping_metric: val_ndcg@10\n"
    "evaluation:\n"
    "  k_values: [5, 10]\n"
    "hyperparameter_search:\n"
    "  study_name: g\n"
    "  n_trials: 4\n"
    "  sampler: random\n"
    "  pruner: median\n"
    "  seed: 1\n"
    "  ranks_per_group: 2\n"
    "  median: {n_startup_trials: 1}\n"
    "  search_space:\n"
    "    training.learning_rate: {type: float, low: 1.0e-6, high: 0.02, log: true}\n";

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(HpoWorkerGroup, APrunedTrialStopsOnBothRanksAtTheSameEpoch) {
  ScratchDir dir("hpo_worker_group");
  const Pipeline p = make_cached_tiny_pipeline(dir.path(), kStudy);
  const CommandResult r = run_pixelrec("hpo " + p.config_arg() + " --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const fs::path study = dir.path() / "results/hpo/g";
  const CsvTable t = read_csv_table(study / "trials.csv");
  const size_t state = t.require_column("state", "trials.csv");
  ASSERT_EQ(t.rows(), 4u);
  size_t pruned = 0, complete = 0;
  for (size_t i = 0; i < 4; ++i) {
    const std::string& s = t.columns[state][i];
    ASSERT_TRUE(s == "COMPLETE" || s == "PRUNED") << "trial " << i << ": " << s << "\n" << r.output;
    // A pruned trial stopped early, a complete one trained all three epochs.
    const fs::path metrics = study / "trials" / ("trial_000" + std::to_string(i)) / "metrics.jsonl";
    size_t lines = 0;
    for (const auto& line : split(read_text(metrics), '\n')) lines += !trim(line).empty();
    if (s == "COMPLETE") {
      ++complete;
      EXPECT_EQ(lines, 3u) << metrics;
      continue;
    }
    ++pruned;
    EXPECT_LT(lines, 3u) << metrics;
    // Both ranks of the group announced the stop after that same epoch.
    const std::string stop =
        "stopped after epoch " + std::to_string(lines) + " of 3 at the caller's request";
    EXPECT_GE(count_of(r.output, "[rank 0/2] " + stop), 1u) << r.output;
    EXPECT_GE(count_of(r.output, "[rank 1/2] " + stop), 1u) << r.output;
  }
  EXPECT_GE(pruned, 1u) << r.output;
  EXPECT_GE(complete, 1u) << r.output;
  // One announcement per rank per pruned trial, none for a complete one.
  EXPECT_EQ(count_of(r.output, "[rank 0/2] stopped after epoch"), pruned) << r.output;
  EXPECT_EQ(count_of(r.output, "[rank 1/2] stopped after epoch"), pruned) << r.output;
}

const char* kMpirun = "mpirun --allow-run-as-root --oversubscribe -np 2 ";

// Rank 0 is refused by the coordinator (a wrong token): rank 1, waiting for the first lease in a
// broadcast, learns it and ends too, with rank 0's error, instead of waiting forever.
TEST(HpoWorkerGroup, WhenRankZeroCannotJoinEveryRankEndsWithItsError) {
  ScratchDir dir("hpo_group_join");
  const fs::path config = dir / "study.yaml";
  write_text(config, "results_dir: " + (dir / "results").string() +
                         "\n"
                         "hyperparameter_search:\n"
                         "  study_name: j\n"
                         "  n_trials: 1\n"
                         "  search_space:\n"
                         "    training.learning_rate: {type: float, low: 0.001, high: 0.01}\n");
  BackgroundCommand coordinator(
      shell_quote(PIXELREC_BIN) + " hpo coordinator -c " + shell_quote(config.string()),
      dir / "coordinator.log");
  ASSERT_TRUE(coordinator.wait_for_log("listening on")) << coordinator.log();
  write_text(dir / "wrong.token", "not-the-token-of-this-study\n");
  const CommandResult r =
      run_command("timeout 120 " + std::string(kMpirun) + shell_quote(PIXELREC_BIN) +
                  " hpo worker -c " + shell_quote(config.string()) + " --token-file " +
                  shell_quote((dir / "wrong.token").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;  // 124: a rank waited for the timeout
  EXPECT_NE(r.output.find("rank 0 of this worker group failed: coordinator"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("unauthorized"), std::string::npos) << r.output;
}

// Rank 1 stalls after step 2: rank 0's next collective outlives distributed.timeout_seconds and
// ends the group with the error of `pixelrec train`, instead of the group hanging on its trial.
TEST(HpoWorkerGroup, AStalledRankEndsTheGroupInsteadOfHangingIt) {
  ScratchDir dir("hpo_group_stall");
  const Pipeline p = make_cached_tiny_pipeline(dir.path(), kStudy);
  BackgroundCommand coordinator(shell_quote(PIXELREC_BIN) + " hpo coordinator " + p.config_arg(),
                                dir / "coordinator.log");
  ASSERT_TRUE(coordinator.wait_for_log("listening on")) << coordinator.log();
  const auto start = std::chrono::steady_clock::now();
  const CommandResult r = run_command(
      "PIXELREC_TEST_STALL_AFTER_STEPS=2 PIXELREC_TEST_STALL_RANK=1 timeout 150 " +
      std::string(kMpirun) + shell_quote(PIXELREC_BIN) + " hpo worker " + p.config_arg() +
      " --set distributed.timeout_seconds=5"
      " --set hyperparameter_search.coordinator.connect_timeout_seconds=3");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("rank 0: MPI"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did not complete within 5.0 s"), std::string::npos) << r.output;
  EXPECT_LT(seconds, 120.0);
}

}  // namespace
}  // namespace pixelrec::test
