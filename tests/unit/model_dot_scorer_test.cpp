// model.scorer dot: the two towers and their similarity, full-ranking blocks as one matrix
// product that agree with the pairwise logits, and checkpoints that record the scorer and refuse
// a config that asks for the other one.
#include <gtest/gtest.h>

#include "core/config_loader.h"
#include "core/errors.h"
#include "model/checkpoint.h"
#include "model/model_scorer.h"
#include "model/optimizers.h"
#include "support/test_support.h"
#include "unit/model_test_support.h"

namespace pixelrec::model {
namespace {

NetworkSpec dot_spec(const std::string& fusion, const std::string& similarity = "cosine") {
  NetworkSpec spec = model_test::tiny_spec(fusion);
  spec.config.scorer = "dot";
  spec.config.dot_similarity = similarity;
  spec.config.dot_temperature = 0.2;
  return spec;
}

bool has_parameter(Recommender& model, const std::string& prefix) {
  for (const auto& p : model.network()->named_parameters())
    if (p.key().rfind(prefix, 0) == 0) return true;
  return false;
}

TEST(DotScorer, CosineLogitsAreUnitVectorProductsOverTheTemperature) {
  torch::manual_seed(3);
  Recommender model(dot_spec("concat"), model_test::tiny_shape());
  model.train(false);
  const ItemFeatures features = model_test::tiny_features();
  const torch::Tensor users = torch::tensor({0, 1, 2, 15}, torch::kLong);   // 15: a cold user
  const torch::Tensor items = torch::tensor({3, 4, 10, 11}, torch::kLong);  // 10, 11: cold items
  torch::NoGradGuard no_grad;
  const auto v = model.pair_vectors(users, items, features);
  EXPECT_TRUE(torch::allclose(v.users.norm(2, 1), torch::ones({4}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(v.items.norm(2, 1), torch::ones({4}), 1e-5, 1e-5));
  const torch::Tensor expected = (v.users * v.items).sum(1) / 0.2;
  EXPECT_TRUE(torch::allclose(model.forward(users, items, features), expected, 1e-5, 1e-5));
  // The user tower is the user's ID embedding (cold users: the unknown row).
  const torch::Tensor rows =
      model.tables()[0]->weight().index_select(0, torch::tensor({0, 1, 2, 10}, torch::kLong));
  EXPECT_TRUE(torch::allclose(
      v.users,
      torch::nn::functional::normalize(rows, torch::nn::functional::NormalizeFuncOptions().dim(1)),
      1e-5, 1e-5));
  // The MLP head is not built; the item tower and the dot temperature are.
  EXPECT_FALSE(has_parameter(model, "head_"));
  EXPECT_TRUE(has_parameter(model, "item_tower_out"));
  EXPECT_NEAR(model.network()->dot_temperature().item<double>(), 0.2, 1e-6);
}

TEST(DotScorer, DotSimilarityKeepsTheVectorsLength) {
  torch::manual_seed(4);
  Recommender model(dot_spec("gated", "dot"), model_test::tiny_shape());
  model.train(false);
  torch::NoGradGuard no_grad;
  const auto v =
      model.pair_vectors(torch::tensor({0, 1}, torch::kLong), torch::tensor({2, 5}, torch::kLong),
                         model_test::tiny_features());
  EXPECT_GT((v.users.norm(2, 1) - 1).abs().max().item<double>(), 1e-3);
}

TEST(DotScorer, BlocksAndPairsAgreeWithTheForwardLogitsForEveryFusion) {
  for (const std::string fusion : {"concat", "gated", "attention"}) {
    torch::manual_seed(5);
    Recommender model(dot_spec(fusion), model_test::tiny_shape());
    const ItemFeatures features = model_test::tiny_features();
    ModelScorer scorer(model, features);
    const std::vector<uint32_t> users = {0, 3, 9, 12};
    std::vector<uint32_t> items(12);
    for (uint32_t i = 0; i < 12; ++i) items[i] = i;
    std::vector<float> block(users.size() * items.size());
    scorer.score_block(users.data(), users.size(), items.data(), items.size(), block.data());
    const std::vector<uint32_t> some = {11, 2, 7};  // not consecutive: gathered rows
    std::vector<float> some_block(users.size() * some.size());
    scorer.score_block(users.data(), users.size(), some.data(), some.size(), some_block.data());
    torch::NoGradGuard no_grad;
    model.train(false);
    for (size_t u = 0; u < users.size(); ++u) {
      const torch::Tensor logits = model.forward(torch::full({12}, int64_t(users[u]), torch::kLong),
                                                 torch::arange(12, torch::kLong), features);
      for (size_t j = 0; j < items.size(); ++j)
        EXPECT_NEAR(block[u * 12 + j], logits[int64_t(j)].item<float>(), 1e-4) << fusion;
      for (size_t j = 0; j < some.size(); ++j)
        EXPECT_NEAR(some_block[u * 3 + j], logits[int64_t(some[j])].item<float>(), 1e-4);
      std::vector<uint32_t> pair_users(12, users[u]);
      std::vector<float> pairs(12);
      scorer.score_pairs(pair_users.data(), items.data(), 12, pairs.data());
      for (size_t j = 0; j < 12; ++j) EXPECT_NEAR(pairs[j], block[u * 12 + j], 1e-4);
    }
  }
}

TEST(DotScorer, TrainingStepsMoveTheTemperature) {
  torch::manual_seed(6);
  Recommender model(dot_spec("concat"), model_test::tiny_shape());
  model.train(true);
  const TrainingConfig training;
  auto params = dense_parameters(model);
  auto optimizer = make_dense_optimizer(training, params);
  torch::binary_cross_entropy_with_logits(
      model.forward(torch::tensor({1, 2}, torch::kLong), torch::tensor({3, 4}, torch::kLong),
                    model_test::tiny_features()),
      torch::tensor({1.0f, 0.0f}))
      .backward();
  optimizer_step(model, *optimizer, params, row_optimizer_options(training), 1e-2, 1.0);
  EXPECT_GT(std::abs(model.network()->dot_temperature().item<double>() - 0.2), 1e-5);
}

TEST(DotScorer, CheckpointsRecordTheScorerAndRefuseTheOtherOne) {
  pixelrec::test::ScratchDir dir("dot_ckpt");
  Config config;
  config.model = dot_spec("concat").config;
  config.training.loss = "softmax";
  torch::manual_seed(8);
  Recommender model(dot_spec("concat"), model_test::tiny_shape());
  CheckpointMeta meta;
  meta.config_yaml = config_to_yaml(config);
  meta.content = dot_spec("concat").content;
  meta.shape = model_test::tiny_shape();
  meta.scorer = "dot";
  meta.loss = "softmax";
  const auto path = dir.path() / "dot.pt";
  save_checkpoint(path, model, nullptr, meta, CheckpointState{});
  const LoadedCheckpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.meta.scorer, "dot");
  EXPECT_EQ(loaded.meta.loss, "softmax");
  EXPECT_TRUE(loaded.model->network()->dot());
  EXPECT_EQ(parameter_digest(*loaded.model), parameter_digest(model));
  EXPECT_NO_THROW(check_scorer(loaded, config));
  Config mlp;  // the default: model.scorer mlp
  try {
    check_scorer(loaded, mlp);
    FAIL() << "an mlp config loaded a dot checkpoint";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model.scorer 'dot'"), std::string::npos) << what;
    EXPECT_NE(what.find("asks for model.scorer 'mlp'"), std::string::npos) << what;
    EXPECT_NE(what.find("--set model.scorer=dot"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace pixelrec::model
