// A 2-rank worker group (`pixelrec hpo` with ranks_per_group 2: each group is `mpirun -np 2
// pixelrec hpo worker`): a trial the median rule prunes stops on both ranks after the same epoch,
// and the group goes on to run the next trials in step (a rank left behind would deadlock them).
#include <gtest/gtest.h>

#include <string>

#include "core/strings.h"
#include "data/csv.h"
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

}  // namespace
}  // namespace pixelrec::test
