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

}  // namespace
}  // namespace pixelrec::test
