#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "model/model_scorer.h"
#include "model/optimizers.h"
#include "model/recommender.h"
#include "unit/model_test_support.h"

namespace pixelrec::model {
namespace {

using model_test::tiny_features;
using model_test::tiny_shape;
using model_test::tiny_spec;

torch::Tensor batch_users() {
  return torch::tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0}, torch::kLong);
}
torch::Tensor batch_items() {
  return torch::tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1}, torch::kLong);
}

class FusionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FusionTest, ShapesFiniteLossAndGradientsReachEveryParameter) {
  torch::manual_seed(1);
  Recommender model(tiny_spec(GetParam()), tiny_shape());
  const ItemFeatures features = tiny_features();
  model.train(true);
  ItemSide side;
  const torch::Tensor logits = model.forward(batch_users(), batch_items(), features, &side);
  ASSERT_EQ(logits.sizes(), torch::IntArrayRef({12}));
  const torch::Tensor labels =
      torch::tensor({1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}).to(torch::kFloat);
  const torch::Tensor loss = torch::binary_cross_entropy_with_logits(logits, labels) +
                             0.1 * model.network()->contrastive(side);
  ASSERT_TRUE(std::isfinite(loss.item<double>()));
  loss.backward();
  for (const auto& p : model.network()->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  for (auto* table : model.tables()) {
    const auto [rows, grad] = table->gradient();
    ASSERT_TRUE(rows.defined()) << table->name();
    EXPECT_GT(grad.abs().sum().item<double>(), 0.0) << table->name();
  }
}

TEST_P(FusionTest, MissingModalityContributesNothing) {
  torch::manual_seed(2);
  Recommender model(tiny_spec(GetParam()), tiny_shape());
  model.train(false);
  ItemFeatures features = tiny_features();
  torch::NoGradGuard no_grad;
  const torch::Tensor users = torch::tensor({1, 2}, torch::kLong);
  const torch::Tensor items = torch::tensor({3, 4}, torch::kLong);  // 3: no image, 4: no text
  const torch::Tensor before = model.forward(users, items, features);
  features.values[0][3].fill_(100.0f);  // garbage in the absent image row
  features.values[1][4].fill_(-50.0f);  // and in the absent text row
  const torch::Tensor after = model.forward(users, items, features);
  EXPECT_TRUE(torch::allclose(before, after, 0, 0)) << before << after;
  features.values[0][4].fill_(3.0f);  // a present image does change the score
  EXPECT_FALSE(torch::allclose(before, model.forward(users, items, features)));
}

INSTANTIATE_TEST_SUITE_P(AllFusions, FusionTest, ::testing::Values("concat", "gated", "attention"));

TEST(NetworkTest, TwoLayerProjectionsAndUnknownFusionError) {
  NetworkSpec spec = tiny_spec("concat");
  spec.config.projection_hidden_dim = 12;
  Recommender model(spec, tiny_shape());
  EXPECT_EQ(model.network()->named_parameters().find("project_image.2.weight"), nullptr);
  EXPECT_NE(model.network()->named_parameters().find("project_image.3.weight"), nullptr);
  spec.config.fusion_type = "sum";
  EXPECT_THROW(Recommender(spec, tiny_shape()), ConfigError);
  spec = tiny_spec("attention");
  spec.config.num_attention_heads = 3;  // 8 is not divisible by 3
  EXPECT_THROW(Recommender(spec, tiny_shape()), ConfigError);
}

TEST(ContrastiveTest, InfoNceMatchesHandComputedValue) {
  const double img[3][2] = {{1, 0}, {0, 2}, {1, 1}};
  const double txt[3][2] = {{3, 0}, {1, 1}, {0, 1}};
  const double t = 0.5;
  // By hand: cosine matrix S[i][j] = <img_i, txt_j> / (|img_i| |txt_j|), logits S / t, mean of
  // row-wise and column-wise cross-entropy with the diagonal as targets.
  double s[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      const double dot = img[i][0] * txt[j][0] + img[i][1] * txt[j][1];
      s[i][j] = dot / (std::hypot(img[i][0], img[i][1]) * std::hypot(txt[j][0], txt[j][1])) / t;
    }
  double rows = 0, cols = 0;
  for (int i = 0; i < 3; ++i) {
    double zr = 0, zc = 0;
    for (int j = 0; j < 3; ++j) zr += std::exp(s[i][j]), zc += std::exp(s[j][i]);
    rows += std::log(zr) - s[i][i];
    cols += std::log(zc) - s[i][i];
  }
  const double expected = 0.5 * (rows / 3 + cols / 3);
  const torch::Tensor image = torch::tensor({1.0, 0.0, 0.0, 2.0, 1.0, 1.0}).reshape({3, 2});
  const torch::Tensor text = torch::tensor({3.0, 0.0, 1.0, 1.0, 0.0, 1.0}).reshape({3, 2});
  const double got = info_nce(image, text, torch::tensor(t)).item<double>();
  EXPECT_NEAR(got, expected, 1e-6);
  EXPECT_NEAR(expected, 0.990556, 1e-6);  // the value itself, so a shared mistake cannot pass
}

TEST(ContrastiveTest, TemperatureIsClampedAndLearnable) {
  NetworkSpec spec = tiny_spec("concat");
  spec.config.contrastive_temperature = 0.001;  // below the floor
  Recommender model(spec, tiny_shape());
  EXPECT_NEAR(model.network()->temperature().item<double>(), 0.01, 1e-7);
  EXPECT_TRUE(model.network()->named_parameters()["log_temperature"].requires_grad());
}

TEST(AccumulationTest, TwoHalfBatchesEqualOneFullBatch) {
  NetworkSpec spec = tiny_spec("concat", /*batch_norm=*/false, /*contrastive=*/false);
  torch::manual_seed(3);
  Recommender full(spec, tiny_shape());
  torch::manual_seed(3);
  Recommender halves(spec, tiny_shape());
  const ItemFeatures features = tiny_features();
  TrainingConfig tc;
  tc.optimizer_type = "adamw";
  const auto users = torch::randint(0, 10, {64}, torch::kLong);
  const auto items = torch::randint(0, 12, {64}, torch::kLong);
  const auto labels = torch::randint(0, 2, {64}).to(torch::kFloat);
  for (int step = 0; step < 3; ++step) {
    auto params_full = dense_parameters(full);
    auto opt_full = make_dense_optimizer(tc, params_full);
    torch::binary_cross_entropy_with_logits(full.forward(users, items, features), labels)
        .backward();
    optimizer_step(full, *opt_full, params_full, row_optimizer_options(tc), 1e-2, 1.0);

    auto params_half = dense_parameters(halves);
    auto opt_half = make_dense_optimizer(tc, params_half);
    for (int h = 0; h < 2; ++h) {
      const auto part = [h](const torch::Tensor& t) { return t.narrow(0, h * 32, 32); };
      (torch::binary_cross_entropy_with_logits(halves.forward(part(users), part(items), features),
                                               part(labels)) /
       2.0)
          .backward();
    }
    optimizer_step(halves, *opt_half, params_half, row_optimizer_options(tc), 1e-2, 1.0);
  }
  const auto a = full.network()->named_parameters();
  const auto b = halves.network()->named_parameters();
  for (const auto& p : a)
    EXPECT_LT((p.value() - b[p.key()]).abs().max().item<double>(), 1e-6) << p.key();
  for (size_t t = 0; t < 3; ++t)
    EXPECT_LT(
        (full.tables()[t]->weight() - halves.tables()[t]->weight()).abs().max().item<double>(),
        1e-6);
}

TEST(ScorerTest, BlockPairsAndForwardAgree) {
  for (const std::string fusion : {"concat", "gated", "attention"}) {
    torch::manual_seed(4);
    Recommender model(tiny_spec(fusion), tiny_shape());
    const ItemFeatures features = tiny_features();
    {  // move BatchNorm's running statistics away from 0/1 so the folded head is really tested
      torch::NoGradGuard no_grad;
      model.train(true);
      for (int step = 0; step < 5; ++step)
        model.forward(torch::randint(0, 10, {32}, torch::kLong),
                      torch::randint(0, 12, {32}, torch::kLong), features);
    }
    model.train(false);
    ModelScorer scorer(model, features, /*final_activation=*/false, /*pair_batch=*/7);
    const std::vector<uint32_t> users = {0, 3, 10};  // 10: a cold user
    std::vector<uint32_t> items(12);
    for (uint32_t i = 0; i < 12; ++i) items[i] = i;
    std::vector<float> block(users.size() * items.size());
    scorer.score_block(users.data(), users.size(), items.data(), items.size(), block.data());
    std::vector<uint32_t> pu, pi;
    for (uint32_t u : users)
      for (uint32_t i : items) pu.push_back(u), pi.push_back(i);
    std::vector<float> pairs(pu.size());
    scorer.score_pairs(pu.data(), pi.data(), pu.size(), pairs.data());
    torch::NoGradGuard no_grad;
    const torch::Tensor direct = model.forward(index_tensor(pu.data(), pu.size()),
                                               index_tensor(pi.data(), pi.size()), features);
    for (size_t k = 0; k < pu.size(); ++k) {
      EXPECT_NEAR(block[k], pairs[k], 1e-5) << fusion << " pair " << k;
      EXPECT_NEAR(block[k], direct[int64_t(k)].item<float>(), 1e-5) << fusion << " pair " << k;
    }
  }
}

}  // namespace
}  // namespace pixelrec::model
