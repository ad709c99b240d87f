// The validator's metric names are the ones run() reports, so early stopping never reads a metric
// the evaluator left out (personalization@K with a single validation user).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "core/config.h"
#include "distributed/communicator.h"
#include "model/validation.h"
#include "model_test_support.h"
#include "unit/eval_interactions_fixture.h"

namespace pixelrec::model {
namespace {

using eval::add;

using namespace model_test;

// 10 users, 12 items; `val_users` of them have a validation item.
SplitData split_with_val_users(uint32_t val_users) {
  SplitData split;
  std::vector<std::string> ids(10);
  for (int u = 0; u < 10; ++u) ids[size_t(u)] = "u" + std::to_string(u);
  split.user_map = IdMap::from_ids(ids);
  ids.resize(12);
  for (int i = 0; i < 12; ++i) ids[size_t(i)] = "i" + std::to_string(i);
  split.item_map = IdMap::from_ids(ids);
  for (uint32_t u = 0; u < 10; ++u) add(split.train, u, {u % 10, (u + 1) % 10});
  for (uint32_t u = 0; u < val_users; ++u) add(split.val, u, {(u + 4) % 10});
  split.item_in_train.assign(12, 0);
  for (uint32_t item : split.train.item) split.item_in_train[item] = 1;
  return split;
}

TEST(Validator, MetricNamesAreWhatRunReports) {
  for (uint32_t val_users : {1u, 4u}) {
    Config config;
    config.evaluation.k_values = {1, 3};
    config.evaluation.num_negatives = 5;
    const SplitData split = split_with_val_users(val_users);
    const ItemFeatures features = tiny_features();
    std::vector<uint32_t> candidates(10);
    std::iota(candidates.begin(), candidates.end(), 0u);
    Validator validator(config, split, features, candidates, 1);
    torch::manual_seed(3);
    Recommender model(tiny_spec("concat"), tiny_shape());
    const auto comm = dist::make_single_process_communicator();
    std::vector<std::string> reported;
    for (const auto& [name, value] : validator.run(model, *comm)) reported.push_back(name);
    EXPECT_EQ(validator.metric_names(), reported) << val_users << " validation users";
  }
}

// Validation does not know the test part: val_loss's fixed negatives exclude a user's train ∪
// val items only, so a test item can be a validation negative. User 0 trains on items 0..7,
// validates on 8 and tests on 9; the candidates are the training items 0..9, so item 9 is its
// only possible negative.
TEST(Validator, ATestItemCanBeAValidationNegative) {
  Config config;
  config.evaluation.k_values = {1};
  config.evaluation.num_negatives = 5;
  config.data.negative_sampling_ratio = 1.0;
  SplitData split = split_with_val_users(0);
  add(split.train, 0, {2, 3, 4, 5, 6, 7});
  add(split.val, 0, {8});
  add(split.test, 0, {9});
  const ItemFeatures features = tiny_features();
  std::vector<uint32_t> candidates(10);
  std::iota(candidates.begin(), candidates.end(), 0u);
  Validator validator(config, split, features, candidates, 1);
  torch::manual_seed(3);
  Recommender model(tiny_spec("concat"), tiny_shape());
  const auto comm = dist::make_single_process_communicator();
  const auto reported = validator.run(model, *comm);
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = model.forward(torch::tensor({0, 0}, torch::kLong),
                                             torch::tensor({8, 9}, torch::kLong), features);
  const double expected =
      torch::binary_cross_entropy_with_logits(logits, torch::tensor({1.0f, 0.0f})).item<double>();
  ASSERT_EQ(reported[0].first, "val_loss");
  EXPECT_NEAR(reported[0].second, expected, 1e-6);
}

}  // namespace
}  // namespace pixelrec::model
