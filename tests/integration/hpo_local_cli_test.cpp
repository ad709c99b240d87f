// `pixelrec hpo` (local study: coordinator + worker groups running `pixelrec hpo worker`) end to
// end on a tiny pipeline: every trial trains the real model, the best trial is evaluated on test
// once, the outputs agree, and a worker killed with SIGKILL mid-trial leaves a STALE trial that is
// requeued, resumed from its checkpoint and completed.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "core/strings.h"
#include "data/csv.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

std::string study_yaml(int n_trials, int epochs, int parallel, const std::string& extra) {
  return "model:\n"
         "  embedding_dim: 16\n"
         "  fusion_hidden_dims: [32, 16]\n"
         "training:\n"
         "  epochs: " +
         std::to_string(epochs) +
         "\n"
         "  batch_size: 256\n"
         "  num_workers: 1\n"
         "  early_stopping_metric: val_ndcg@10\n"
         "evaluation:\n"
         "  k_values: [5, 10]\n"
         "hyperparameter_search:\n"
         "  study_name: s\n"
         "  n_trials: " +
         std::to_string(n_trials) +
         "\n"
         "  sampler: random\n"
         "  pruner: none\n"
         "  seed: 3\n"
         "  parallel: " +
         std::to_string(parallel) +
         "\n"
         "  optimize_metric: val_ndcg@10\n"
         "  search_space:\n"
         "    training.learning_rate: {type: float, low: 0.001, high: 0.02, log: true}\n" +
         extra;
}

// The non-empty lines of `text`.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (const std::string& line : split(text, '\n'))
    if (!trim(line).empty()) lines.push_back(line);
  return lines;
}

struct TrialRow {
  std::string state, value, attempt, message;
};

std::vector<TrialRow> read_trials(const fs::path& file) {
  const CsvTable t = read_csv_table(file);
  const size_t state = t.require_column("state", file), value = t.require_column("value", file),
               attempt = t.require_column("attempt", file),
               message = t.require_column("message", file);
  std::vector<TrialRow> rows;
  for (size_t r = 0; r < t.rows(); ++r)
    rows.push_back(
        {t.columns[state][r], t.columns[value][r], t.columns[attempt][r], t.columns[message][r]});
  return rows;
}

TEST(HpoLocalCli, TwoWorkerGroupsRunEveryTrialAndEvaluateTheBestOnTestOnce) {
  ScratchDir dir("hpo_local");
  const std::string token = "tok-9f8e7d6c5b4a39281706f5e4";  // configured, so it is known here
  const Pipeline p = make_cached_tiny_pipeline(
      dir.path(), study_yaml(3, 2, 2, "  coordinator:\n    token: " + token + "\n"));
  const CommandResult r = run_pixelrec("hpo " + p.config_arg() + " --log-level info");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The token is in the user's config and the study's 0600 token file, nowhere else: not in the
  // logs, resolved configs, trial folders, checkpoints or best_config.yaml.
  EXPECT_EQ(r.output.find(token), std::string::npos);
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    if (!entry.is_regular_file() || entry.path().filename() == "coordinator.token" ||
        entry.path() == p.config)
      continue;
    EXPECT_EQ(read_text(entry.path()).find(token), std::string::npos) << entry.path();
  }

  const fs::path study = dir.path() / "results/hpo/s";
  const auto trials = read_trials(study / "trials.csv");
  ASSERT_EQ(trials.size(), 3u);
  double best = -1;
  for (const auto& t : trials) {
    EXPECT_EQ(t.state, "COMPLETE") << t.message;
    EXPECT_EQ(t.attempt, "1");
    best = std::max(best, std::stod(t.value));
  }
  // The last stdout line is the best validation value; best_params.json agrees.
  const auto out_lines = lines_of(r.output);
  ASSERT_FALSE(out_lines.empty());
  EXPECT_NEAR(std::stod(out_lines.back()), best, 1e-9 * std::max(1.0, best)) << r.output;
  const auto best_params = nlohmann::json::parse(read_text(study / "best_params.json"));
  EXPECT_NEAR(best_params["value"].get<double>(), best, 1e-12);
  const int64_t best_trial = best_params["trial"].get<int64_t>();
  // Each trial trained for the configured epochs in its own run folder.
  for (int i = 0; i < 3; ++i) {
    const fs::path metrics = study / "trials" / ("trial_000" + std::to_string(i)) / "metrics.jsonl";
    EXPECT_EQ(lines_of(read_text(metrics)).size(), 2u) << metrics;
  }
  // The best trial alone was evaluated on test: its result file and the study's summary agree.
  const auto test_result = nlohmann::json::parse(read_text(study / "best_trial_test.json"));
  EXPECT_EQ(test_result["task"], "full");
  EXPECT_EQ(test_result["part"], "test");
  EXPECT_NE(test_result["model"].get<std::string>().find("trial_000" + std::to_string(best_trial)),
            std::string::npos);
  const auto summary = nlohmann::json::parse(read_text(study / "best_test_metrics.json"));
  EXPECT_EQ(summary["trial"].get<int64_t>(), best_trial);
  EXPECT_DOUBLE_EQ(summary["metrics"]["ndcg@10"].get<double>(),
                   test_result["metrics"]["ndcg@10"].get<double>());
  // best_config.yaml carries the winner's learning rate.
  const std::string best_config = read_text(study / "best_config.yaml");
  const double lr = best_params["params"]["training.learning_rate"].get<double>();
  const auto at = best_config.find("learning_rate: ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_NEAR(std::stod(best_config.substr(at + 15)), lr, 1e-12 * lr);
}

TEST(HpoLocalCli, AWorkerKilledMidTrialLeavesAStaleTrialThatIsResumedAndCompleted) {
  ScratchDir dir("hpo_local_kill");
  const Pipeline p = make_cached_tiny_pipeline(
      dir.path(),
      study_yaml(2, 10, 1, "  coordinator: {lease_seconds: 4, heartbeat_seconds: 1}\n"));
  const fs::path log = dir.path() / "hpo.log", rc = dir.path() / "hpo.rc";
  run_command("(" + shell_quote(PIXELREC_BIN) + " hpo " + p.config_arg() + " > " +
              shell_quote(log.string()) + " 2>&1; echo $? > " + shell_quote(rc.string()) +
              ") > /dev/null 2>&1 &");
  // Once trial 0 has checkpointed an epoch, SIGKILL its worker (no clean-up, no goodbye).
  const fs::path checkpoint = dir.path() / "results/hpo/s/checkpoints/trial_0000/last.pt";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(checkpoint) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(fs::exists(checkpoint)) << read_text(log);
  const auto killed =
      // "[h]po": the pattern must not match this shell's own command line.
      run_command("pkill -9 -f -- " + shell_quote("[h]po worker .*" + p.config.string()));
  ASSERT_EQ(killed.exit_code, 0) << "no worker process found: " << read_text(log);
  while (!fs::exists(rc) && std::chrono::steady_clock::now() < deadline + std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(fs::exists(rc)) << "the study did not finish: " << read_text(log);
  const std::string output = read_text(log);
  EXPECT_EQ(trim(read_text(rc)), "0") << output;
  EXPECT_NE(output.find("restarting it"), std::string::npos) << output;
  EXPECT_NE(output.find("attempt 2: resuming from"), std::string::npos) << output;

  const auto trials = read_trials(dir.path() / "results/hpo/s/trials.csv");
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, "COMPLETE") << trials[0].message;
  EXPECT_EQ(trials[0].attempt, "2");
  EXPECT_EQ(trials[1].state, "COMPLETE") << trials[1].message;
  // The resumed trial still trained exactly 10 epochs in all (metrics.jsonl cut back on resume).
  EXPECT_EQ(
      lines_of(read_text(dir.path() / "results/hpo/s/trials/trial_0000/metrics.jsonl")).size(),
      10u);
}

}  // namespace
}  // namespace pixelrec::test
