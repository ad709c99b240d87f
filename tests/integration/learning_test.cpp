// Learning works: on the tiny generated dataset (whose items carry topic structure in images and
// text, and whose users prefer topics), the trained model beats popularity and random on sampled
// and full ranking, and on cold items a model with content features beats an ID-only model and
// popularity, as does content-KNN. Margins are about half the measured gaps; runs use one thread
// and fixed seeds, so the numbers are reproducible.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

const char* kLearningYaml =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  batch_size: 128\n"
    "  epochs: 20\n"
    "  num_workers: 1\n"
    "  learning_rate: 0.01\n"
    "evaluation:\n"
    "  num_negatives: 50\n";

class Learning : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>("learning");
    pipeline_ = std::make_unique<Pipeline>(make_tiny_pipeline(dir_->path(), kLearningYaml));
  }
  static void TearDownTestSuite() {
    pipeline_.reset();
    dir_.reset();
  }
  // The command's output (warnings and errors).
  static std::string ok(const std::string& args) {
    const auto r = run_pixelrec(args + " " + pipeline_->config_arg() + " --log-level warn");
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    return r.output;
  }
  static double ndcg10(const std::string& run, const std::string& file) {
    const auto j = nlohmann::json::parse(read_text(dir_->path() / "results" / run / "eval" / file));
    return j.at("metrics").at("ndcg@10").get<double>();
  }
  static std::unique_ptr<ScratchDir> dir_;
  static std::unique_ptr<Pipeline> pipeline_;
};
std::unique_ptr<ScratchDir> Learning::dir_;
std::unique_ptr<Pipeline> Learning::pipeline_;

TEST_F(Learning, ModelBeatsPopularityAndRandomOnSampledAndFullRanking) {
  ok("cache");
  const std::string bce = ok("train --no-progress --run-name warm");
  EXPECT_EQ(bce.find("early_stopping_metric"), std::string::npos) << bce;
  for (const char* task : {"sampled", "full"})
    ok(std::string("evaluate --run-name warm --recommender multimodal,popularity,random --task ") +
       task);
  const double model_sampled = ndcg10("warm", "multimodal_sampled.json");
  EXPECT_GT(model_sampled, ndcg10("warm", "popularity_sampled.json") + 0.06);
  EXPECT_GT(model_sampled, ndcg10("warm", "random_sampled.json") + 0.1);
  const double model_full = ndcg10("warm", "multimodal_full.json");
  EXPECT_GT(model_full, ndcg10("warm", "popularity_full.json") + 0.02);
  EXPECT_GT(model_full, ndcg10("warm", "random_full.json") + 0.04);
}

// The dot-product towers trained with the in-batch sampled softmax (logQ-corrected) rank the
// full catalogue better than popularity. Early stopping on the default val_loss (BCE) would
// watch a loss softmax does not train: a warning says what to monitor instead.
TEST_F(Learning, DotScorerWithSampledSoftmaxBeatsPopularityOnFullRanking) {
  ok("cache");
  const std::string trained =
      ok("train --no-progress --run-name dot --set model.scorer=dot --set training.loss=softmax");
  EXPECT_NE(trained.find("training.loss is softmax"), std::string::npos) << trained;
  EXPECT_NE(trained.find("--set training.early_stopping_metric=val_ndcg@10"), std::string::npos)
      << trained;
  ok("evaluate --run-name dot --set model.scorer=dot --recommender multimodal,popularity "
     "--task full");
  EXPECT_GT(ndcg10("dot", "multimodal_full.json"), ndcg10("dot", "popularity_full.json") + 0.02);
}

TEST_F(Learning, ContentBeatsIdOnlyAndPopularityOnColdItems) {
  const std::string item_split =
      " --set data.splitting.strategy=item --set data.split_data_path=" +
      (dir_->path() / "splits" / "item").string() +
      " --set data.cache_config.cache_directory=" + (dir_->path() / "cache_item").string();
  ok("split" + item_split);
  ok("cache" + item_split);
  ok("train --no-progress --run-name content" + item_split);
  ok("train --no-progress --run-name idonly --set model.vision_model=none "
     "--set model.language_model=none --set data.numerical_features_cols=[] "
     "--set data.categorical_features_cols=[]" +
     item_split);
  ok("evaluate --run-name content --recommender multimodal,popularity,contentknn "
     "--task cold_item" +
     item_split);
  ok("evaluate --run-name idonly --recommender multimodal --task cold_item" + item_split);
  const double content = ndcg10("content", "multimodal_cold_item.json");
  const double id_only = ndcg10("idonly", "multimodal_cold_item.json");
  const double popularity = ndcg10("content", "popularity_cold_item.json");
  EXPECT_GT(content, id_only + 0.15);
  EXPECT_GT(content, popularity + 0.15);
  EXPECT_GT(ndcg10("content", "contentknn_cold_item.json"), popularity + 0.1);
}

}  // namespace
}  // namespace pixelrec::test
