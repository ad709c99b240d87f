// model.user_history mean learns: on tiny data with sticky sessions (a user's next item mostly
// shares a topic with the last few), the dot towers that pool the user's latest training items
// rank the held-out (latest) item better on the full catalogue than the ID-only user tower.
// One thread and fixed seeds: the numbers are reproducible. Measured NDCG@10: 0.213 (ID only)
// against 0.233 (history mean); the margin is half the gap.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/synth_pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

const char* kHistoryYaml =
    "model:\n"
    "  embedding_dim: 16\n"
    "  scorer: dot\n"
    "training:\n"
    "  batch_size: 128\n"
    "  epochs: 10\n"
    "  num_workers: 1\n"
    "  learning_rate: 0.01\n"
    "  loss: softmax\n"
    "  early_stopping_metric: val_ndcg@10\n";

// Trains and evaluates (full ranking) one run per {name, --set flags} on the same sticky tiny
// data (one scratch folder per test); returns each run's test NDCG@10.
std::map<std::string, double> full_ranking_ndcg10(
    const std::string& scratch, const std::vector<std::pair<std::string, std::string>>& runs) {
  ScratchDir dir(scratch);
  const Pipeline p = make_tiny_pipeline_with(dir.path(), kHistoryYaml, 5, "--stickiness 0.8");
  const auto ok = [&](const std::string& args) {
    const auto r = run_pixelrec(args + " " + p.config_arg() + " --log-level warn");
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
  };
  ok("cache");
  std::map<std::string, double> ndcg10;
  for (const auto& [name, set] : runs) {
    ok("train --no-progress --run-name " + name + set);
    ok("evaluate --run-name " + name + set + " --task full");
    const auto j = nlohmann::json::parse(
        read_text(dir.path() / "results" / name / "eval" / "multimodal_full.json"));
    ndcg10[name] = j.at("metrics").at("ndcg@10").get<double>();
  }
  return ndcg10;
}

TEST(LearningHistory, MeanHistoryBeatsTheIdOnlyUserTowerOnFullRanking) {
  auto ndcg10 = full_ranking_ndcg10(
      "learning_history",
      {{"none", " --set model.user_history=none"}, {"mean", " --set model.user_history=mean"}});
  const double id_only = ndcg10["none"], pooled = ndcg10["mean"];
  EXPECT_GT(pooled, id_only + 0.01) << "id only " << id_only << ", history mean " << pooled;
}

// On the same sticky data, training pairs that pool the items before their positive (what a
// val/test pair pools: everything before it) rank the held-out item better than pairs that pool
// the user's latest items, which in training mostly come after the positive. Loss bce, the last
// 3 items. Measured NDCG@10: 0.2098 (latest) against 0.2148 (preceding); the margin is half the
// gap. (With this tiny data and softmax the order reverses: 0.232 against 0.220; on the `hard`
// preset bce with preceding gains 15%, docs/benchmarks.md.)
TEST(LearningHistory, PrecedingHistoryBeatsLatestHistoryOnStickySessions) {
  const std::string history =
      " --set training.loss=bce --set model.user_history=mean --set model.user_history_length=3"
      " --set model.user_history_training=";
  auto ndcg10 =
      full_ranking_ndcg10("learning_history_preceding",
                          {{"latest", history + "latest"}, {"preceding", history + "preceding"}});
  const double latest = ndcg10["latest"], preceding = ndcg10["preceding"];
  EXPECT_GT(preceding, latest + 0.0025) << "latest " << latest << ", preceding " << preceding;
}

}  // namespace
}  // namespace pixelrec::test
