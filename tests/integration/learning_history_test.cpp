// model.user_history mean learns: on tiny data with sticky sessions (a user's next item mostly
// shares a topic with the last few), the dot towers that pool the user's latest training items
// rank the held-out (latest) item better on the full catalogue than the ID-only user tower.
// One thread and fixed seeds: the numbers are reproducible. Measured NDCG@10: 0.213 (ID only)
// against 0.233 (history mean); the margin is half the gap.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

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

TEST(LearningHistory, MeanHistoryBeatsTheIdOnlyUserTowerOnFullRanking) {
  ScratchDir dir("learning_history");
  const Pipeline p = make_tiny_pipeline_with(dir.path(), kHistoryYaml, 5, "--stickiness 0.8");
  const auto ok = [&](const std::string& args) {
    const auto r = run_pixelrec(args + " " + p.config_arg() + " --log-level warn");
    ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.output;
  };
  const auto ndcg10 = [&](const std::string& run) {
    const auto j = nlohmann::json::parse(
        read_text(dir.path() / "results" / run / "eval" / "multimodal_full.json"));
    return j.at("metrics").at("ndcg@10").get<double>();
  };
  ok("cache");
  for (const std::string history : {"none", "mean"}) {
    const std::string set = " --set model.user_history=" + history;
    ok("train --no-progress --run-name " + history + set);
    ok("evaluate --run-name " + history + set + " --task full");
  }
  const double id_only = ndcg10("none"), pooled = ndcg10("mean");
  EXPECT_GT(pooled, id_only + 0.01) << "id only " << id_only << ", history mean " << pooled;
}

// On the same sticky data, training pairs that pool the items before their positive (what a
// val/test pair pools: everything before it) rank the held-out item better than pairs that pool
// the user's latest items, which in training mostly come after the positive. Loss bce, the last
// 3 items. Measured NDCG@10: 0.2098 (latest) against 0.2148 (preceding); the margin is half the
// gap. (With this tiny data and softmax the order reverses: 0.232 against 0.220; on the `hard`
// preset bce with preceding gains 15%, docs/benchmarks.md.)
TEST(LearningHistory, PrecedingHistoryBeatsLatestHistoryOnStickySessions) {
  ScratchDir dir("learning_history_preceding");
  const Pipeline p = make_tiny_pipeline_with(dir.path(), kHistoryYaml, 5, "--stickiness 0.8");
  const auto ok = [&](const std::string& args) {
    const auto r = run_pixelrec(args + " " + p.config_arg() + " --log-level warn");
    ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.output;
  };
  const auto ndcg10 = [&](const std::string& run) {
    const auto j = nlohmann::json::parse(
        read_text(dir.path() / "results" / run / "eval" / "multimodal_full.json"));
    return j.at("metrics").at("ndcg@10").get<double>();
  };
  ok("cache");
  for (const std::string training : {"latest", "preceding"}) {
    const std::string set =
        " --set training.loss=bce --set model.user_history=mean --set model.user_history_length=3"
        " --set model.user_history_training=" +
        training;
    ok("train --no-progress --run-name " + training + set);
    ok("evaluate --run-name " + training + set + " --task full");
  }
  const double latest = ndcg10("latest"), preceding = ndcg10("preceding");
  EXPECT_GT(preceding, latest + 0.0025) << "latest " << latest << ", preceding " << preceding;
}

}  // namespace
}  // namespace pixelrec::test
