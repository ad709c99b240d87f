// `pixelrec hpo` with hyperparameter_search.target set to a baseline: each trial fits the
// baseline with its evaluation.* values and evaluates it on val (no training); the best value is
// what `pixelrec evaluate` gives for that value, the best config carries it, and the best trial
// is evaluated on test. Parameters that cannot change the baseline are refused up front.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "data/csv.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

std::string baseline_study_yaml(const std::string& target, const std::string& space) {
  return "evaluation:\n"
         "  k_values: [5, 10]\n"
         "  num_negatives: 50\n"
         "training:\n"
         "  num_workers: 1\n"
         "hyperparameter_search:\n"
         "  study_name: b\n"
         "  target: " +
         target +
         "\n"
         "  n_trials: 4\n"
         "  sampler: random\n"
         "  pruner: none\n"
         "  seed: 7\n"
         "  optimize_metric: val_ndcg@10\n"
         "  search_space:\n" +
         space;
}

const char* const kEaseLambdaSpace =
    "    evaluation.ease_lambda: {type: float, low: 1.0, high: 20000.0, log: true}\n";

TEST(HpoBaselineCli, EaseLambdaStudyFindsAValueThatReEvaluatesToItsValidationMetric) {
  ScratchDir dir("hpo_baseline_ease");
  const Pipeline p = make_tiny_pipeline(dir.path(), baseline_study_yaml("ease", kEaseLambdaSpace));
  const CommandResult r = run_pixelrec("hpo " + p.config_arg() + " --log-level info");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const fs::path study = dir.path() / "results/hpo/b";
  const fs::path trials_file = study / "trials.csv";
  const CsvTable t = read_csv_table(trials_file);
  const size_t state = t.require_column("state", trials_file);
  const size_t value = t.require_column("value", trials_file);
  const size_t lambda = t.require_column("params_evaluation.ease_lambda", trials_file);
  ASSERT_EQ(t.rows(), 4u);
  std::set<std::string> values, lambdas;
  for (size_t row = 0; row < t.rows(); ++row) {
    EXPECT_EQ(t.columns[state][row], "COMPLETE");
    values.insert(t.columns[value][row]);
    lambdas.insert(t.columns[lambda][row]);
    // Each trial's validation result is kept beside the study, as a model trial's run folder.
    const auto trial = nlohmann::json::parse(read_text(
        study / "trials" / ("trial_000" + std::to_string(row)) / "eval/ease_sampled_val.json"));
    EXPECT_EQ(trial["recommender"], "ease");
    EXPECT_EQ(trial["part"], "val");
    EXPECT_NEAR(trial["metrics"]["ndcg@10"].get<double>(), std::stod(t.columns[value][row]), 1e-9);
  }
  EXPECT_EQ(lambdas.size(), 4u);
  EXPECT_GE(values.size(), 3u) << "the trials should differ: lambda spans 1 to 20000";

  const auto best = nlohmann::json::parse(read_text(study / "best_params.json"));
  const double best_lambda = best["params"]["evaluation.ease_lambda"].get<double>();
  const double best_value = best["value"].get<double>();
  for (size_t row = 0; row < t.rows(); ++row)
    EXPECT_LE(std::stod(t.columns[value][row]), best_value + 1e-12);
  EXPECT_NE(read_text(study / "best_config.yaml").find("target: ease"), std::string::npos);

  // Re-evaluating the baseline with the best value on val gives the study's best value.
  const fs::path again = dir.path() / "again.json";
  const CommandResult e = run_pixelrec(
      "evaluate --recommender ease --task sampled --part val " + p.config_arg() +
      " --set evaluation.ease_lambda=" + best["params"]["evaluation.ease_lambda"].dump() +
      " --output " + shell_quote(again.string()) + " --log-level warn");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const auto result = nlohmann::json::parse(read_text(again));
  EXPECT_NEAR(result["metrics"]["ndcg@10"].get<double>(), best_value, 1e-12) << best_lambda;

  // The best trial alone is evaluated on test, full ranking, as the baseline it tuned.
  const auto test = nlohmann::json::parse(read_text(study / "best_trial_test.json"));
  EXPECT_EQ(test["recommender"], "ease");
  EXPECT_EQ(test["task"], "full");
  EXPECT_EQ(test["part"], "test");
  EXPECT_GT(test["metrics"]["ndcg@10"].get<double>(), 0.0);
}

// training.validation_task full: the baseline's trials validate on the full catalogue, as the
// model's trials then do, and the best value is `evaluate --task full --part val`'s.
TEST(HpoBaselineCli, AFullRankingValidationStudyValidatesOnTheWholeCatalogue) {
  ScratchDir dir("hpo_baseline_full");
  const Pipeline p = make_tiny_pipeline(dir.path(), baseline_study_yaml("ease", kEaseLambdaSpace));
  const std::string full = " --set training.validation_task=full";
  const CommandResult r = run_pixelrec("hpo " + p.config_arg() + full + " --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path study = dir.path() / "results/hpo/b";
  const auto trial =
      nlohmann::json::parse(read_text(study / "trials/trial_0000/eval/ease_full_val.json"));
  EXPECT_EQ(trial["task"], "full");
  EXPECT_EQ(trial["part"], "val");
  const auto best = nlohmann::json::parse(read_text(study / "best_params.json"));
  const fs::path again = dir.path() / "again.json";
  const CommandResult e = run_pixelrec(
      "evaluate --recommender ease --task full --part val " + p.config_arg() +
      " --set evaluation.ease_lambda=" + best["params"]["evaluation.ease_lambda"].dump() +
      " --output " + shell_quote(again.string()) + " --log-level warn");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_NEAR(nlohmann::json::parse(read_text(again))["metrics"]["ndcg@10"].get<double>(),
              best["value"].get<double>(), 1e-12);
}

TEST(HpoBaselineCli, AParameterThatCannotChangeTheBaselineIsAConfigError) {
  // Refused when the config loads, before any data is read.
  ScratchDir dir("hpo_baseline_bad");
  const fs::path config = dir / "study.yaml";
  write_text(config, baseline_study_yaml("itemknn",
                                         "    training.learning_rate: {type: float, "
                                         "low: 0.001, high: 0.01}\n"));
  const CommandResult r = run_pixelrec("hpo -c " + shell_quote(config.string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("hyperparameter_search.search_space: parameter "
                          "'training.learning_rate' does not change the 'itemknn' baseline "
                          "(hyperparameter_search.target); tune evaluation.knn_neighbors, "
                          "evaluation.knn_shrinkage, or set target: model to tune the model"),
            std::string::npos)
      << r.output;
  write_text(config, baseline_study_yaml("bpr",
                                         "    evaluation.ease_lambda: {type: float, "
                                         "low: 1.0, high: 10.0}\n"));
  const CommandResult unknown = run_pixelrec("hpo -c " + shell_quote(config.string()));
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("hyperparameter_search.target"), std::string::npos)
      << unknown.output;
  EXPECT_NE(unknown.output.find("model, ease, ials, itemknn, userknn"), std::string::npos)
      << unknown.output;
}

}  // namespace
}  // namespace pixelrec::test
