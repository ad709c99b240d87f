// Cold rows: id dropout gives the unknown-user and unknown-item rows (what cold users and items
// are scored with) a gradient, decided per distinct id from the batch seed alone; left unset, it
// is on exactly when the split has ids training never saw.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "model/cold_rows.h"
#include "model/recommender.h"
#include "unit/model_test_support.h"

namespace pixelrec::model {
namespace {

using model_test::tiny_features;
using model_test::tiny_shape;
using model_test::tiny_spec;

// Rows of `table` that received a gradient from one forward/backward with `draws`.
std::set<int64_t> touched_rows(Recommender& model, EmbeddingTable& table, const BatchDraws& draws) {
  table.zero_grad();
  const torch::Tensor users = torch::tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1}, torch::kLong);
  const torch::Tensor items = torch::tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0}, torch::kLong);
  model.forward(users, items, tiny_features(), nullptr, draws).sum().backward();
  std::set<int64_t> rows;
  const auto [index, grad] = table.gradient();
  if (!index.defined()) return rows;
  for (int64_t i = 0; i < index.size(0); ++i)
    if (grad[i].abs().sum().item<double>() > 0) rows.insert(index[i].item<int64_t>());
  return rows;
}

TEST(ColdRows, IdDropoutTrainsTheUnknownRows) {
  torch::manual_seed(1);
  Recommender model(tiny_spec("concat", /*batch_norm=*/false), tiny_shape());
  model.train(true);
  const int64_t unknown_user = tiny_shape().num_users, unknown_item = tiny_shape().num_items;
  BatchDraws off{5, {}, 0.0, 0.0, {}};
  EXPECT_EQ(touched_rows(model, *model.tables()[0], off).count(unknown_user), 0u);
  BatchDraws on{5, {}, 0.5, 0.5, {}};
  EXPECT_EQ(touched_rows(model, *model.tables()[0], on).count(unknown_user), 1u);
  // Item 10 is not in training (tiny_features), so it uses the unknown row either way; with
  // dropout, training items reach it too.
  const auto items_off = touched_rows(model, model.item_table(), off);
  const auto items_on = touched_rows(model, model.item_table(), on);
  EXPECT_LT(items_on.size(), items_off.size());  // dropped items did not touch their own rows
  EXPECT_EQ(items_on.count(unknown_item), 1u);
  // The same seed drops the same ids; another seed drops others.
  EXPECT_EQ(touched_rows(model, *model.tables()[0], on),
            touched_rows(model, *model.tables()[0], on));
  BatchDraws other{6, {}, 0.5, 0.5, {}};
  EXPECT_NE(touched_rows(model, *model.tables()[0], on),
            touched_rows(model, *model.tables()[0], other));
}

// Numeric features counted from training interactions (data.numeric_source train_interactions)
// do not exist for an item training never saw: absent (mask 0), not the all-zero counts no
// trained item has. ID-dropped items, which stand in for cold ones in training, lose them too.
TEST(ColdRows, CountsFromTrainingInteractionsAreAbsentForItemsWithoutThem) {
  torch::manual_seed(1);
  Recommender model(tiny_spec("concat", /*batch_norm=*/false), tiny_shape());
  model.train(true);
  const size_t numeric_token = 4;  // item id, tag, image, text, numeric
  const torch::Tensor items = torch::tensor({0, 10}, torch::kLong);  // warm, cold
  ItemFeatures features = tiny_features();
  const auto numeric_mask = [&](const BatchDraws& draws, bool content_only = false) {
    return model.item_side(items, features, draws, content_only).masks.at(numeric_token);
  };
  const torch::Tensor present = torch::ones({2});
  EXPECT_TRUE(torch::equal(numeric_mask({}), present));  // item metadata: known for cold items
  features.from_interactions = {false, false, true};
  EXPECT_TRUE(torch::equal(numeric_mask({}), torch::tensor({1.0f, 0.0f})));
  EXPECT_TRUE(torch::equal(numeric_mask({5, {}, 1.0, 0.0, {}}), torch::zeros({2})));
  EXPECT_TRUE(torch::equal(numeric_mask({}, /*content_only=*/true), torch::zeros({2})));
  // Image and text are the items' own: kept.
  EXPECT_TRUE(
      torch::equal(model.item_side(items, features, {5, {}, 1.0, 0.0, {}}).masks.at(2), present));
}

// The store says where its numeric features come from; make_item_features marks them.
TEST(ColdRows, TheStoresNumericSourceMarksCountsFromTrainingInteractions) {
  for (const std::string source : {"train_interactions", "catalogue"}) {
    features::FeatureShard shard;
    shard.range = {0, 2};
    shard.item_ids = {"a", "b"};
    shard.tag_ids = {0, -1};
    shard.tag_vocab = {"t"};
    shard.modalities.push_back({{"image", 2, "{}"}, {1, 2, 3, 4}, {1, 1}});
    shard.modalities.push_back(
        {{"numeric", 1, R"({"source": ")" + source + R"("})"}, {5, 0}, {1, 1}});
    const ItemFeatures f =
        make_item_features(shard, {{"image", 2}, {"numeric", 1}}, std::vector<uint8_t>{1, 0});
    EXPECT_EQ(f.from_interactions, (std::vector<bool>{false, source == "train_interactions"}))
        << source;
    EXPECT_EQ(f.in_train[1].item<bool>(), false);
  }
}

TEST(ColdRows, UnsetDropoutIsOnExactlyWhenTheSplitHasColdIds) {
  ModelConfig both;
  const std::string said = resolve_id_dropout(both, {3, 2});
  EXPECT_EQ(*both.item_id_dropout, kDefaultIdDropout);
  EXPECT_EQ(*both.user_id_dropout, kDefaultIdDropout);
  EXPECT_NE(said.find("3 items training never saw"), std::string::npos) << said;
  ModelConfig warm;
  resolve_id_dropout(warm, {0, 0});
  EXPECT_EQ(*warm.item_id_dropout, 0.0);
  EXPECT_EQ(*warm.user_id_dropout, 0.0);
  ModelConfig chosen;
  chosen.item_id_dropout = 0.25;
  chosen.user_id_dropout = 0.0;
  EXPECT_EQ(resolve_id_dropout(chosen, {3, 2}), "");  // what the user set stays
  EXPECT_EQ(*chosen.item_id_dropout, 0.25);
  EXPECT_EQ(*chosen.user_id_dropout, 0.0);
}

}  // namespace
}  // namespace pixelrec::model
