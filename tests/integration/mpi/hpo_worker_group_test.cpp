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
  const std::vector<std::string> expected = {"COMPLETE", "PRUNED", "COMPLETE", "PRUNED"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(t.columns[state][i], expected[i]) << "trial " << i << "\n" << r.output;
    // Pruned trials trained one epoch, the others all three.
    const fs::path metrics = study / "trials" / ("trial_000" + std::to_string(i)) / "metrics.jsonl";
    size_t lines = 0;
    for (const auto& line : split(read_text(metrics), '\n')) lines += !trim(line).empty();
    EXPECT_EQ(lines, expected[i] == "PRUNED" ? 1u : 3u) << metrics;
  }
  // Both ranks of the group announced the stop after epoch 1, once per pruned trial.
  const std::string stop = "stopped after epoch 1 of 3 at the caller's request";
  EXPECT_EQ(count_of(r.output, "[rank 0/2] " + stop), 2u) << r.output;
  EXPECT_EQ(count_of(r.output, "[rank 1/2] " + stop), 2u) << r.output;
  EXPECT_EQ(count_of(r.output, "stopped after epoch 2"), 0u);
}

}  // namespace
}  // namespace pixelrec::test
