// Readers of the report's inputs: metrics.jsonl, eval result JSON, config.yaml, trials.csv and
// best_params.json; errors name the file and line; loading records skipped and absent files.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "core/hash.h"
#include "report/report.h"
#include "report_fixtures.h"
#include "support/test_support.h"

namespace pixelrec::report {
namespace {

using test::read_text;
using test::ScratchDir;
using test::write_text;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ReportMetricsJsonl, ColumnsFollowFirstSeenOrderWithGapsForMissingNamesAndNull) {
  ScratchDir dir("report_jsonl");
  write_text(dir / "m.jsonl",
             "{\"epoch\":0,\"train_loss\":0.5}\n"
             "\n"
             "{\"epoch\":2,\"train_loss\":null,\"val_ndcg@10\":0.25}\n");
  const MetricsHistory h = read_metrics_jsonl(dir / "m.jsonl");
  EXPECT_EQ(h.epochs, (std::vector<int64_t>{0, 2}));
  ASSERT_EQ(h.names, (std::vector<std::string>{"train_loss", "val_ndcg@10"}));
  EXPECT_EQ(h.columns[0][0], 0.5);
  EXPECT_TRUE(std::isnan(h.columns[0][1]));
  EXPECT_TRUE(std::isnan(h.columns[1][0]));
  EXPECT_EQ(h.columns[1][1], 0.25);
  EXPECT_EQ(h.column("val_ndcg@10"), &h.columns[1]);
  EXPECT_EQ(h.column("nope"), nullptr);
  EXPECT_TRUE(h.note.empty());
}

TEST(ReportMetricsJsonl, ATornLastLineIsDroppedAndNoted) {
  ScratchDir dir("report_jsonl_torn");
  write_text(dir / "m.jsonl", "{\"epoch\":0,\"a\":1}\n{\"epoch\":1,\"a\":0.");
  const MetricsHistory h = read_metrics_jsonl(dir / "m.jsonl");
  EXPECT_EQ(h.epochs, (std::vector<int64_t>{0}));
  EXPECT_EQ(h.note, "line 2 is torn (no newline, invalid JSON): dropped");
}

TEST(ReportMetricsJsonl, BadLinesNameTheFileAndLine) {
  ScratchDir dir("report_jsonl_bad");
  const auto path = dir / "m.jsonl";
  write_text(path, "{\"epoch\":0,\"a\":1}\n{\"epoch\":1,\"a\":\n{\"epoch\":2}\n");
  EXPECT_NE(error_of([&] { read_metrics_jsonl(path); }).find(path.string() + ":2: invalid JSON"),
            std::string::npos);
  write_text(path, "{\"epoch\":0}\n{\"epoch\":1,\"a\":\"x\"}\n");
  EXPECT_NE(error_of([&] {
              read_metrics_jsonl(path);
            }).find(path.string() + ":2: \"a\" is string; expected a number or null"),
            std::string::npos);
  write_text(path, "{\"epoch\":3}\n{\"epoch\":1}\n");
  EXPECT_NE(error_of([&] {
              read_metrics_jsonl(path);
            }).find(path.string() + ":2: epoch 1 follows epoch 3; epochs must increase"),
            std::string::npos);
  write_text(path, "[1,2]\n");
  EXPECT_NE(error_of([&] { read_metrics_jsonl(path); }).find(":1: expected a JSON object"),
            std::string::npos);
  write_text(path, "{\"loss\":1}\n");
  EXPECT_NE(error_of([&] {
              read_metrics_jsonl(path);
            }).find(":1: \"epoch\" is missing or not an integer"),
            std::string::npos);
}

TEST(ReportEvalResult, ReadsMetricsInFileOrderAndTheSignificanceBlock) {
  ScratchDir dir("report_eval");
  fixtures::write_run(dir.path());
  const EvalResultFile r = read_eval_result(dir / "eval/multimodal_full.json");
  EXPECT_EQ(r.recommender, "multimodal");
  EXPECT_EQ(r.task, "full");
  EXPECT_EQ(r.part, "test");
  EXPECT_EQ(r.config_fingerprint, "00aa11bb22cc33dd");
  EXPECT_EQ(r.users_evaluated, 2993);
  ASSERT_EQ(r.metrics.size(), 9u);
  EXPECT_EQ(r.metrics[0].first, "recall@5");
  EXPECT_EQ(r.metrics[3].first, "ndcg@10");
  EXPECT_EQ(*r.metric("ndcg@10"), 0.1250706873550421);
  EXPECT_FALSE(r.metric("ndcg@20").has_value());
  EXPECT_EQ(r.baseline, "popularity");
  ASSERT_EQ(r.significance.size(), 2u);
  EXPECT_EQ(r.significance[0].first, "ndcg@10");
  EXPECT_EQ(r.significance[0].second.t_p, 1.5476051287611116e-51);
  EXPECT_EQ(r.significance[0].second.wilcoxon, 29354.5);
  EXPECT_TRUE(std::isnan(r.significance[1].second.t));  // null: a zero-variance difference
}

TEST(ReportEvalResult, MalformedFilesNameTheFileLineOrKey) {
  ScratchDir dir("report_eval_bad");
  const auto path = dir / "r.json";
  write_text(path, "{\n  \"recommender\": \"x\",\n  \"task\": }\n");
  EXPECT_NE(error_of([&] { read_eval_result(path); }).find(path.string() + ":3: invalid JSON"),
            std::string::npos);
  write_text(path, "{\"recommender\": \"x\", \"task\": \"full\"}");
  EXPECT_NE(error_of([&] { read_eval_result(path); }).find("\"metrics\" is missing"),
            std::string::npos);
  write_text(path, "{\"task\": \"full\", \"metrics\": {}}");
  EXPECT_NE(error_of([&] { read_eval_result(path); }).find("\"recommender\" is missing"),
            std::string::npos);
  write_text(path, "{\"recommender\": \"x\", \"task\": \"full\", \"metrics\": {\"mrr\": \"a\"}}");
  EXPECT_NE(error_of([&] { read_eval_result(path); }).find("metric \"mrr\" is string"),
            std::string::npos);
}

TEST(ReportConfig, FingerprintIsTheDigestOfTheFileAndKeyValuesFollowTheFixedOrder) {
  ScratchDir dir("report_config");
  fixtures::write_config(dir.path());
  const ConfigSummary c = read_config_summary(dir / "config.yaml");
  EXPECT_EQ(c.fingerprint, Hasher().add(read_text(dir / "config.yaml")).hex());
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"model.vision_model", "builtin"},
      {"model.fusion_type", "concat"},
      {"model.embedding_dim", "64"},
      {"model.fusion_hidden_dims", "[256, 128]"},
      {"training.epochs", "3"},
      {"training.learning_rate", "0.005"},
      {"training.early_stopping_metric", "val_ndcg@10"},
      {"data.splitting.strategy", "leave_one_out"},
      {"evaluation.k_values", "[5, 10]"}};
  EXPECT_EQ(c.key_values, expected);
  EXPECT_EQ(c.early_stopping_metric, "val_ndcg@10");
  EXPECT_EQ(c.early_stopping_direction, "auto");
  // The dot scorer's provenance: its towers' keys, the loss and the numeric source; pooling keys
  // only with pooling, none of them under the mlp head.
  write_text(dir / "dot.yaml",
             "model:\n  scorer: dot\n  dot_similarity: cosine\n  user_history: mean\n"
             "  user_history_decay: 0.7\n  user_history_base_weight: 0.1\n"
             "  user_id_embedding: false\n"
             "training:\n  loss: softmax\ndata:\n  numeric_source: train_interactions\n");
  const std::vector<std::pair<std::string, std::string>> dot = {
      {"model.scorer", "dot"},
      {"model.dot_similarity", "cosine"},
      {"model.user_history", "mean"},
      {"model.user_history_decay", "0.7"},
      {"model.user_history_base_weight", "0.1"},
      {"model.user_id_embedding", "false"},
      {"training.loss", "softmax"},
      {"data.numeric_source", "train_interactions"}};
  EXPECT_EQ(read_config_summary(dir / "dot.yaml").key_values, dot);
  write_text(dir / "mlp.yaml",
             "model:\n  scorer: mlp\n  dot_similarity: cosine\n  user_history: none\n"
             "  user_history_decay: 0.7\n");
  EXPECT_EQ(read_config_summary(dir / "mlp.yaml").key_values,
            (std::vector<std::pair<std::string, std::string>>{{"model.scorer", "mlp"}}));
  write_text(dir / "bad.yaml", "model:\n  a: [1, 2\n");
  EXPECT_NE(error_of([&] {
              read_config_summary(dir / "bad.yaml");
            }).find((dir / "bad.yaml").string() + ":3: invalid YAML"),
            std::string::npos);
}

TEST(ReportBestRow, StrictImprovementOnlyAndNaNNeverWins) {
  MetricsHistory h;
  h.epochs = {0, 1, 2, 3};
  h.names = {"val_ndcg@10"};
  h.columns = {{NAN, 0.4, 0.4, 0.3}};
  EXPECT_EQ(best_row(h, "val_ndcg@10", false), 1u);  // a tie is not an improvement
  EXPECT_EQ(best_row(h, "val_ndcg@10", true), 3u);
  EXPECT_FALSE(best_row(h, "val_loss", true).has_value());
  EXPECT_TRUE(lower_is_better("val_loss"));
  EXPECT_TRUE(lower_is_better("gini@10"));
  EXPECT_FALSE(lower_is_better("ndcg@10"));
  EXPECT_FALSE(lower_is_better("coverage@10"));
}

TEST(ReportStudyInputs, ReadsTrialsWithQuotedMessagesAndTheDirection) {
  ScratchDir dir("report_study");
  fixtures::write_study(dir.path());
  const StudyTrials t = read_trials_csv(dir / "trials.csv");
  EXPECT_EQ(t.param_names, (std::vector<std::string>{"training.learning_rate", "optimizer"}));
  ASSERT_EQ(t.trials.size(), 5u);
  EXPECT_EQ(t.trials[1].state, "COMPLETE");
  EXPECT_EQ(*t.trials[1].value, 0.45);
  EXPECT_FALSE(t.trials[2].value.has_value());
  EXPECT_EQ(t.trials[3].message, "exit status 1: boom, \"quoted\"");
  EXPECT_EQ(t.trials[4].params, (std::vector<std::string>{"0.003", "adam"}));
  const BestParams best = read_best_params(dir / "best_params.json");
  EXPECT_EQ(best.direction, "maximize");
  EXPECT_EQ(best.trial, 1);
  EXPECT_EQ(best.value, 0.45);
}

TEST(ReportStudyInputs, MalformedTrialsNameTheFileAndLine) {
  ScratchDir dir("report_study_bad");
  const auto path = dir / "trials.csv";
  write_text(path, "number,value\n0,1\n");
  EXPECT_NE(error_of([&] { read_trials_csv(path); }).find("state"), std::string::npos);
  write_text(path, "number,state,value\n0,COMPLETE,0.5\n1,DONE,0.5\n");
  EXPECT_NE(
      error_of([&] { read_trials_csv(path); }).find(path.string() + ":3: unknown state 'DONE'"),
      std::string::npos);
  write_text(path, "number,state,value\n0,COMPLETE,abc\n");
  EXPECT_NE(error_of([&] {
              read_trials_csv(path);
            }).find(path.string() + ":2: value 'abc' is not a number"),
            std::string::npos);
  write_text(path, "number,state,value\n0,COMPLETE\n");
  EXPECT_NE(error_of([&] { read_trials_csv(path); }).find(":2: 2 fields, the header has 3"),
            std::string::npos);
  write_text(dir / "best.json", "{\"direction\": \"up\"}");
  EXPECT_NE(error_of([&] {
              read_best_params(dir / "best.json");
            }).find("direction 'up' is neither minimize nor maximize"),
            std::string::npos);
}

TEST(ReportLoad, RecordsReadAbsentAndSkippedFilesAndGoesOn) {
  ScratchDir dir("report_load");
  const auto run = dir / "run";
  fixtures::write_run(run);
  write_text(run / "eval/broken_full.json", "{\"recommender\": ");
  const ReportInputs inputs = load_report_inputs({run});
  ASSERT_EQ(inputs.runs.size(), 1u);
  EXPECT_TRUE(inputs.studies.empty());
  EXPECT_EQ(inputs.runs[0].name, "run");
  EXPECT_TRUE(inputs.runs[0].config.has_value());
  EXPECT_TRUE(inputs.runs[0].history.has_value());
  ASSERT_EQ(inputs.runs[0].results.size(), 3u);  // sorted by file name, broken one skipped
  EXPECT_EQ(inputs.runs[0].results[0].path.filename(), "multimodal_cold_item.json");
  EXPECT_EQ(inputs.runs[0].results[0].run, "run");
  size_t skipped = 0;
  for (const InputRecord& r : inputs.records) {
    if (r.status != InputStatus::kSkipped) continue;
    ++skipped;
    EXPECT_EQ(r.path, run / "eval/broken_full.json");
    EXPECT_NE(r.detail.find("broken_full.json:1: invalid JSON"), std::string::npos);
  }
  EXPECT_EQ(skipped, 1u);
}

TEST(ReportLoad, FoldersThatAreNeitherRunNorStudyAreUsageErrors) {
  ScratchDir dir("report_load_bad");
  EXPECT_THROW(load_report_inputs({}), UsageError);
  EXPECT_THROW(load_report_inputs({dir / "missing"}), UsageError);
  std::filesystem::create_directories(dir / "empty");
  try {
    load_report_inputs({dir / "empty"});
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("holds neither config.yaml, metrics.jsonl nor eval/"),
              std::string::npos);
  }
  fixtures::write_study(dir / "study");
  EXPECT_FALSE(folder_kind(dir / "empty").run || folder_kind(dir / "empty").study);
  EXPECT_FALSE(folder_kind(dir / "missing").run);
  EXPECT_TRUE(folder_kind(dir / "study").study);
  EXPECT_FALSE(folder_kind(dir / "study").run);
  write_text(dir / "run/metrics.jsonl", "");
  EXPECT_TRUE(folder_kind(dir / "run").run);
  const ReportInputs inputs = load_report_inputs({dir / "study"});
  ASSERT_EQ(inputs.studies.size(), 1u);
  EXPECT_TRUE(inputs.runs.empty());
  EXPECT_EQ(inputs.studies[0].best->direction, "maximize");
}

}  // namespace
}  // namespace pixelrec::report
