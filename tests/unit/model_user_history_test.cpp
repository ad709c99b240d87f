// model.user_history mean: the CSR of each user's last L distinct training items, and the dot
// scorer's user tower = user ID row + mean item ID row of that history (in training without the
// pair's item; cold and dropped users pool nothing), checked against a hand computation.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <memory>
#include <mutex>

#include "core/config_loader.h"
#include "core/errors.h"
#include "distributed/torch/tensor_collectives.h"
#include "model/checkpoint.h"
#include "model/training_batches.h"
#include "support/test_support.h"
#include "unit/model_gloo_ranks.h"
#include "unit/model_test_support.h"

namespace pixelrec::model {
namespace {

// User 0: items 1 (t=10), 2 (t=30), 1 (t=40), 5 (t=20) → latest first, distinct: 1, 2, 5.
// User 1: item 7 (t=5). User 2: no training interactions.
IndexedInteractions tiny_train() {
  IndexedInteractions t;
  t.user = {0, 1, 0, 0, 0};
  t.item = {1, 7, 2, 1, 5};
  t.timestamp = {10, 5, 30, 40, 20};
  return t;
}

std::vector<int64_t> items_of(const UserHistory& h, uint32_t user) {
  return {h.begin(user), h.end(user)};
}

TEST(UserHistory, KeepsTheLatestDistinctItemsUpToTheLength) {
  const UserHistory all(tiny_train(), 3, 50);
  EXPECT_EQ(items_of(all, 0), (std::vector<int64_t>{1, 2, 5}));
  EXPECT_EQ(items_of(all, 1), (std::vector<int64_t>{7}));
  EXPECT_TRUE(items_of(all, 2).empty());
  const UserHistory two(tiny_train(), 3, 2);
  EXPECT_EQ(items_of(two, 0), (std::vector<int64_t>{1, 2}));
}

// gather_preceding's items of each pair, in pooling order.
std::vector<std::vector<int64_t>> preceding(const UserHistory& h, std::vector<int64_t> users,
                                            std::vector<int64_t> rows) {
  const int64_t n = int64_t(users.size());
  const UserHistory::Gathered g =
      h.gather_preceding(torch::tensor(users, torch::kLong), torch::zeros({n}, torch::kBool),
                         torch::tensor(rows, torch::kLong));
  std::vector<std::vector<int64_t>> out(users.size());
  for (int64_t k = 0; k < g.items.size(0); ++k)
    out[size_t(g.pair[k].item<int64_t>())].push_back(g.items[k].item<int64_t>());
  for (size_t b = 0; b < out.size(); ++b)
    EXPECT_EQ(g.count[int64_t(b)].item<float>(), float(out[b].size()));
  return out;
}

// User 0 in time order: row 0 (item 1, t=10), row 4 (5, t=20), row 2 (2, t=30), row 3 (1, t=40).
TEST(UserHistory, PrecedingPoolsTheDistinctItemsBeforeThePositivesRow) {
  const UserHistory all(tiny_train(), 3, 50);
  using Items = std::vector<int64_t>;
  const auto got = preceding(all, {0, 0, 0, 0, 1}, {3, 2, 4, 0, 1});
  EXPECT_EQ(got[0], (Items{2, 5}));  // item 1 again at t=40: its earlier t=10 row stays out
  EXPECT_EQ(got[1], (Items{5, 1}));
  EXPECT_EQ(got[2], (Items{1}));
  EXPECT_TRUE(got[3].empty());  // the user's first interaction has no history
  EXPECT_TRUE(got[4].empty());
  const UserHistory one(tiny_train(), 3, 1);
  EXPECT_EQ(preceding(one, {0}, {3})[0], (Items{2}));
  // A row of another user is a caller's bug, not a silent wrong history.
  EXPECT_ANY_THROW(preceding(all, {1}, {3}));
}

// Every pair of an epoch's batches names the training row of its positive: a row of the pair's
// user whose item is the positive's (for the positive itself, the pair's item).
TEST(UserHistory, EpochBatchesNameThePositiveRowOfEveryPair) {
  const IndexedInteractions train = tiny_train();
  const UserItemIndex exclude(3, train);
  const NegativeSampler sampler(NegativeStrategy::kRandom, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
                                std::vector<int64_t>(10, 1), exclude);
  EpochBatches batches(train.user, train.item, sampler, 2.0, 7, features::ItemRange{0, 10}, 1);
  batches.start_epoch(1);
  size_t positives = 0;
  for (int64_t index = 0; index < batches.count(2); ++index) {
    const Batch b = batches.batch(index, 2);
    ASSERT_EQ(b.positive_rows.size(0), b.users.size(0));
    for (int64_t k = 0; k < b.users.size(0); ++k) {
      const size_t row = size_t(b.positive_rows[k].item<int64_t>());
      EXPECT_EQ(int64_t(train.user[row]), b.users[k].item<int64_t>());
      if (b.labels[k].item<float>() > 0.5f) {
        EXPECT_EQ(int64_t(train.item[row]), b.items[k].item<int64_t>());
        ++positives;
      }
    }
  }
  EXPECT_EQ(positives, train.size());
}

// model.user_history_decay d: the k-th latest pooled item weighs d^k, and a pair's count is
// the total weight, in both the latest and the preceding gathers.
TEST(UserHistory, DecayWeighsTheKthLatestPooledItemByDecayToTheK) {
  const UserHistory decayed(tiny_train(), 3, 50, 0.5);
  const torch::Tensor no_skip = torch::zeros({2}, torch::kBool);
  // User 0 pools 1, 2, 5 (latest first), leaving 2 out of pair 1.
  const UserHistory::Gathered latest = decayed.gather(torch::tensor({0, 0}, torch::kLong), no_skip,
                                                      torch::tensor({9, 2}, torch::kLong));
  EXPECT_TRUE(torch::equal(latest.items, torch::tensor({1, 2, 5, 1, 5}, torch::kLong)));
  EXPECT_TRUE(torch::equal(latest.weight, torch::tensor({1.0f, 0.5f, 0.25f, 1.0f, 0.5f})));
  EXPECT_TRUE(torch::equal(latest.count, torch::tensor({1.75f, 1.5f})));
  // Row 3 (item 1, t=40) pools 2 then 5; row 2 (item 2, t=30) pools 5 then 1.
  const UserHistory::Gathered before = decayed.gather_preceding(
      torch::tensor({0, 0}, torch::kLong), no_skip, torch::tensor({3, 2}, torch::kLong));
  EXPECT_TRUE(torch::equal(before.items, torch::tensor({2, 5, 5, 1}, torch::kLong)));
  EXPECT_TRUE(torch::equal(before.weight, torch::tensor({1.0f, 0.5f, 1.0f, 0.5f})));
  EXPECT_TRUE(torch::equal(before.count, torch::tensor({1.5f, 1.5f})));
  // Decay 1 is the plain mean: every weight 1.
  const UserHistory plain(tiny_train(), 3, 50);
  EXPECT_TRUE(torch::equal(
      plain.gather(torch::tensor({0}, torch::kLong), no_skip.narrow(0, 0, 1), {}).weight,
      torch::ones({3})));
  EXPECT_ANY_THROW(UserHistory(tiny_train(), 3, 50, 0.0));
  EXPECT_ANY_THROW(UserHistory(tiny_train(), 3, 50, 1.5));
}

// model.user_history_training latest needs no timeline: the history built without it pools the
// same items, and asking it for preceding items is a clear error, not a read out of bounds.
TEST(UserHistory, WithoutItsTimelineItPoolsTheSameLatestItems) {
  const UserHistory with(tiny_train(), 3, 50, 0.5);
  const UserHistory without(tiny_train(), 3, 50, 0.5, 0.0, /*timeline=*/false);
  const torch::Tensor users = torch::tensor({0, 1, 2, 0}, torch::kLong);
  const torch::Tensor no_skip = torch::zeros({4}, torch::kBool);
  const torch::Tensor exclude = torch::tensor({9, 9, 9, 2}, torch::kLong);
  const UserHistory::Gathered a = with.gather(users, no_skip, exclude);
  const UserHistory::Gathered b = without.gather(users, no_skip, exclude);
  EXPECT_TRUE(torch::equal(a.items, b.items));
  EXPECT_TRUE(torch::equal(a.pair, b.pair));
  EXPECT_TRUE(torch::equal(a.weight, b.weight));
  EXPECT_TRUE(torch::equal(a.count, b.count));
  EXPECT_TRUE(torch::equal(with.distinct_items(), without.distinct_items()));
  EXPECT_ANY_THROW(without.gather_preceding(
      torch::tensor({0}, torch::kLong), no_skip.narrow(0, 0, 1), torch::tensor({3}, torch::kLong)));
  EXPECT_ANY_THROW(without.users_of_rows(torch::tensor({0}, torch::kLong)));
}

// model.user_history_base_weight b: the k-th latest pooled item weighs d^k + b, so the pool is
// the recency-weighted mean plus b times the plain sum, over the total weight.
TEST(UserHistory, BaseWeightAddsTheSameWeightToEveryPooledItem) {
  const UserHistory mixed(tiny_train(), 3, 50, 0.5, 0.25);
  const torch::Tensor no_skip = torch::zeros({2}, torch::kBool);
  const UserHistory::Gathered latest = mixed.gather(torch::tensor({0, 0}, torch::kLong), no_skip,
                                                    torch::tensor({9, 2}, torch::kLong));
  EXPECT_TRUE(torch::equal(latest.items, torch::tensor({1, 2, 5, 1, 5}, torch::kLong)));
  EXPECT_TRUE(torch::equal(latest.weight, torch::tensor({1.25f, 0.75f, 0.5f, 1.25f, 0.75f})));
  EXPECT_TRUE(torch::equal(latest.count, torch::tensor({2.5f, 2.0f})));
  const UserHistory::Gathered before = mixed.gather_preceding(
      torch::tensor({0, 0}, torch::kLong), no_skip, torch::tensor({3, 2}, torch::kLong));
  EXPECT_TRUE(torch::equal(before.weight, torch::tensor({1.25f, 0.75f, 1.25f, 0.75f})));
  EXPECT_TRUE(torch::equal(before.count, torch::tensor({2.0f, 2.0f})));
  EXPECT_ANY_THROW(UserHistory(tiny_train(), 3, 50, 0.5, -0.1));
}

NetworkSpec history_spec(int length) {
  NetworkSpec spec = model_test::tiny_spec("concat");
  spec.config.scorer = "dot";
  spec.config.user_history = "mean";
  spec.config.user_history_length = length;
  return spec;
}

TEST(UserHistory, UserTokenIsTheIdRowPlusTheMeanOfTheHistoryRows) {
  torch::manual_seed(5);
  Recommender model(history_spec(2), model_test::tiny_shape());
  model.set_user_history(std::make_shared<UserHistory>(tiny_train(), 10, 2));
  const torch::Tensor users_w = model.tables()[0]->weight();
  const torch::Tensor items_w = model.tables()[1]->weight();
  torch::NoGradGuard no_grad;
  // Users 0 (history 1, 2), 1 (history 7), 2 (none), 12 (cold: the unknown row, no history).
  const torch::Tensor users = torch::tensor({0, 1, 2, 12, 0}, torch::kLong);
  const torch::Tensor tokens = model.user_tokens(users);
  EXPECT_TRUE(torch::allclose(tokens[0], users_w[0] + (items_w[1] + items_w[2]) / 2, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[1], users_w[1] + items_w[7], 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[2], users_w[2], 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[3], users_w[10], 1e-6, 1e-6));
  // The pair's item is left out of its user's history (training); other items change nothing.
  const torch::Tensor left_out =
      model.user_tokens(users, {}, torch::tensor({2, 3, 2, 2, 9}, torch::kLong));
  EXPECT_TRUE(torch::allclose(left_out[0], users_w[0] + items_w[1], 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(left_out[1], tokens[1], 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(left_out[4], tokens[0], 1e-6, 1e-6));
  // With decay 0.5 the user token adds the weighted mean: (1 * row 1 + 0.5 * row 2) / 1.5.
  model.set_user_history(std::make_shared<UserHistory>(tiny_train(), 10, 2, 0.5));
  const torch::Tensor decayed = model.user_tokens(users);
  EXPECT_TRUE(
      torch::allclose(decayed[0], users_w[0] + (items_w[1] + 0.5 * items_w[2]) / 1.5, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(decayed[1], tokens[1], 1e-6, 1e-6));
}

// model.user_id_embedding false: the ID part is the shared unknown-user row (10) for everyone,
// so a user without history gets that row alone and the history tells the others apart.
TEST(UserHistory, WithoutTheUserIdEveryUserIsTheSharedRowPlusTheirHistory) {
  torch::manual_seed(5);
  NetworkSpec spec = history_spec(2);
  spec.config.user_id_embedding = false;
  Recommender model(spec, model_test::tiny_shape());
  model.set_user_history(std::make_shared<UserHistory>(tiny_train(), 10, 2));
  const torch::Tensor users_w = model.tables()[0]->weight();
  const torch::Tensor items_w = model.tables()[1]->weight();
  torch::NoGradGuard no_grad;
  const torch::Tensor tokens = model.user_tokens(torch::tensor({0, 1, 2, 12}, torch::kLong));
  EXPECT_TRUE(torch::allclose(tokens[0], users_w[10] + (items_w[1] + items_w[2]) / 2, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[1], users_w[10] + items_w[7], 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[2], users_w[10], 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[3], users_w[10], 1e-6, 1e-6));
}

NetworkSpec content_spec(int length) {
  NetworkSpec spec = history_spec(length);
  spec.config.user_history_content = true;
  return spec;
}

// model.user_history_content: each pooled item adds the vector the item tower gives its content
// with the unknown-item ID row, i.e. the vector it would be scored with were it cold.
TEST(UserHistory, ContentPoolingAddsEachHistoryItemsColdItemVector) {
  torch::manual_seed(5);
  Recommender model(content_spec(2), model_test::tiny_shape());
  model.set_user_history(std::make_shared<UserHistory>(tiny_train(), 10, 2, 0.5));
  const torch::Tensor users = torch::tensor({0, 1, 2}, torch::kLong);
  torch::NoGradGuard no_grad;
  model.train(false);
  EXPECT_THROW(model.user_tokens(users), InternalError);  // no features to pool
  const ItemFeatures features = model_test::tiny_features();
  model.use_item_features(features);
  ItemFeatures all_cold = features;
  all_cold.in_train = torch::zeros_like(features.in_train);
  const auto cold_vector = [&](int64_t item) {
    return model.network()->item_vectors(
        model.item_side(torch::tensor({item}, torch::kLong), all_cold))[0];
  };
  const torch::Tensor users_w = model.tables()[0]->weight();
  const torch::Tensor items_w = model.tables()[1]->weight();
  const torch::Tensor tokens = model.user_tokens(users);
  // User 0 pools items 1 (weight 1) and 2 (weight 0.5), user 1 item 7, user 2 nothing.
  const torch::Tensor pooled0 =
      (items_w[1] + cold_vector(1) + 0.5 * (items_w[2] + cold_vector(2))) / 1.5;
  EXPECT_TRUE(torch::allclose(tokens[0], users_w[0] + pooled0, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[1], users_w[1] + items_w[7] + cold_vector(7), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[2], users_w[2], 1e-6, 1e-6));
  EXPECT_GT((cold_vector(1) - cold_vector(2)).abs().max().item<float>(), 1e-3);
  // Shared for scoring (once, without dropout): the same tokens.
  model.share_history_rows();
  EXPECT_TRUE(torch::allclose(model.user_tokens(users), tokens, 1e-6, 1e-7));
  model.drop_history_rows();
  // It refines the pooled history; without one it is refused.
  NetworkSpec no_history = content_spec(2);
  no_history.config.user_history = "none";
  EXPECT_THROW(Recommender(no_history, model_test::tiny_shape()), ConfigError);
}

TEST(UserHistory, TrainingLeavesThePositiveOutAndScoringDoesNot) {
  torch::manual_seed(6);
  Recommender model(history_spec(50), model_test::tiny_shape());
  model.set_user_history(std::make_shared<UserHistory>(tiny_train(), 10, 50));
  const ItemFeatures features = model_test::tiny_features();
  const torch::Tensor users = torch::tensor({0}, torch::kLong);
  const torch::Tensor items = torch::tensor({2}, torch::kLong);
  const torch::Tensor users_w = model.tables()[0]->weight().detach();
  const torch::Tensor items_w = model.tables()[1]->weight().detach();
  const auto unit = [](const torch::Tensor& x) {
    return torch::nn::functional::normalize(x.unsqueeze(0),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
  };
  model.train(true);
  const auto trained = model.pair_vectors(users, items, features);
  EXPECT_TRUE(
      torch::allclose(trained.users, unit(users_w[0] + (items_w[1] + items_w[5]) / 2), 1e-5, 1e-5));
  // The history's item rows get a gradient (they are trained through the user tower).
  trained.users.sum().backward();
  const auto [rows, grad] = model.tables()[1]->gradient();
  ASSERT_TRUE(rows.defined());
  EXPECT_TRUE((rows == 1).any().item<bool>());
  EXPECT_TRUE((rows == 5).any().item<bool>());
  model.tables()[1]->zero_grad();
  model.tables()[0]->zero_grad();
  model.train(false);
  torch::NoGradGuard no_grad;
  const auto scored = model.pair_vectors(users, items, features);
  EXPECT_TRUE(torch::allclose(
      scored.users, unit(users_w[0] + (items_w[1] + items_w[2] + items_w[5]) / 3), 1e-5, 1e-5));
}

TEST(UserHistory, DrawsWithHistoryRowsPoolTheItemsBeforeThePositive) {
  torch::manual_seed(7);
  NetworkSpec spec = history_spec(50);
  spec.config.user_history_training = "preceding";
  Recommender model(spec, model_test::tiny_shape());
  model.set_user_history(std::make_shared<UserHistory>(tiny_train(), 10, 50));
  const torch::Tensor users_w = model.tables()[0]->weight().detach();
  const torch::Tensor items_w = model.tables()[1]->weight().detach();
  model.train(true);
  torch::NoGradGuard no_grad;
  BatchDraws draws;
  draws.positive_rows = torch::tensor({3, 2}, torch::kLong);  // rows of user 0 at t=40 and t=30
  const torch::Tensor tokens = model.user_tokens(torch::tensor({0, 0}, torch::kLong), draws,
                                                 torch::tensor({1, 4}, torch::kLong));
  EXPECT_TRUE(torch::allclose(tokens[0], users_w[0] + (items_w[2] + items_w[5]) / 2, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[1], users_w[0] + (items_w[5] + items_w[1]) / 2, 1e-6, 1e-6));
}

TEST(UserHistory, MeanPoolingNeedsTheDotScorerAndAHistory) {
  NetworkSpec mlp = history_spec(50);
  mlp.config.scorer = "mlp";
  EXPECT_THROW(Recommender(mlp, model_test::tiny_shape()), ConfigError);
  NetworkSpec unknown = history_spec(50);
  unknown.config.user_history = "max";
  EXPECT_THROW(Recommender(unknown, model_test::tiny_shape()), ConfigError);
  // Without the ID row and without a history every user would be the same vector.
  NetworkSpec anonymous = history_spec(50);
  anonymous.config.user_history = "none";
  anonymous.config.user_id_embedding = false;
  EXPECT_THROW(Recommender(anonymous, model_test::tiny_shape()), ConfigError);
  // Item-sharded, the pooled rows come from the other ranks: scoring without the shared rows (or
  // training without ranks) is a bug.
  Recommender sharded(history_spec(50), model_test::tiny_shape());
  sharded.set_user_history(std::make_shared<UserHistory>(tiny_train(), 10, 50));
  sharded.shard_items(0, 6);
  torch::NoGradGuard no_grad;
  EXPECT_THROW(sharded.user_tokens(torch::tensor({0}, torch::kLong)), InternalError);
}

// Ten users, each with up to 6 training items of the 12.
IndexedInteractions random_train() {
  torch::manual_seed(21);
  const torch::Tensor items = torch::randint(0, 12, {60}, torch::kLong);
  IndexedInteractions t;
  for (int64_t i = 0; i < 60; ++i) {
    t.user.push_back(uint32_t(i % 10));
    t.item.push_back(uint32_t(items[i].item<int64_t>()));
    t.timestamp.push_back(i);
  }
  return t;
}

struct PoolingStep {
  torch::Tensor tokens;                      // [B, D] of the pairs (the rank's pairs)
  torch::Tensor item_rows, item_grad;        // item-table gradient: catalogue rows, [R, D]
  torch::Tensor item_dense;                  // the same as [items + 1 (unknown), D]
  torch::Tensor tag_dense;                   // tag-table gradient [tags + 1, D]
  std::vector<torch::Tensor> network_grads;  // per parameter (zeros when it got none)
};

torch::Tensor dense_gradient(const EmbeddingTable& table, int64_t rows, int64_t first = 0) {
  torch::Tensor dense = torch::zeros({rows, table.weight().size(1)});
  const auto [at, grad] = table.gradient();
  if (at.defined()) dense.index_add_(0, at + first, grad);
  return dense;
}

// user_tokens of the pairs whose item lies in [begin, end) (training: each leaves its item out),
// then backward of a fixed weighting of the whole batch's tokens.
PoolingStep pooling_step(Recommender& model, const torch::Tensor& users, const torch::Tensor& items,
                         const torch::Tensor& weights, int64_t begin, int64_t end) {
  const torch::Tensor mine = items.ge(begin).logical_and(items.lt(end));
  model.train(true);
  PoolingStep out;
  const torch::Tensor tokens =
      model.user_tokens(users.masked_select(mine), {}, items.masked_select(mine));
  (tokens * weights.index({mine})).sum().backward();
  out.tokens = tokens.detach();
  const int64_t unknown = model.shape().num_items;
  auto [rows, grad] = model.tables()[1]->gradient();
  if (rows.defined()) {
    // The shard's last row is the (replicated) unknown-item row.
    out.item_rows = torch::where(rows.eq(end - begin), unknown, rows + begin);
    out.item_grad = grad;
    out.item_dense = torch::zeros({unknown + 1, grad.size(1)}).index_add_(0, out.item_rows, grad);
  }
  out.tag_dense = dense_gradient(*model.tables()[2], model.shape().num_tags + 1);
  for (auto& p : model.network()->parameters()) {
    out.network_grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    p.mutable_grad() = torch::Tensor();
  }
  for (auto* table : model.tables()) table->zero_grad();
  return out;
}

// Two Gloo ranks with item shards [0, 5) and [5, 12): each owner sums its rows of every pair's
// history, so the user tokens are one process's (to rounding) and each owner gets exactly one
// process's rows with their whole gradient; a rank without pairs in a batch still takes part.
// For scoring, the history rows taken once serve any number of calls on any rank (no
// collective per call) and give one process's tokens bitwise.
// With model.user_history_decay (and _base_weight) each owner weighs its rows as one process
// does. With
// model.user_history_content each owner adds its items' content vectors from its own features:
// the network, tag and unknown-row gradients summed over ranks are then one process's.
void expect_sharded_pooling_is_one_process(double decay, bool content = false,
                                           double base_weight = 0.0) {
  SCOPED_TRACE("decay " + std::to_string(decay) + ", base weight " + std::to_string(base_weight) +
               (content ? ", content" : ""));
  const auto history = std::make_shared<UserHistory>(random_train(), 10, 4, decay, base_weight);
  const NetworkSpec spec = content ? content_spec(4) : history_spec(4);
  const ItemFeatures features = model_test::tiny_features();
  torch::manual_seed(3);
  const torch::Tensor users = torch::randint(0, 10, {32}, torch::kLong);
  const std::vector<torch::Tensor> batches = {torch::randint(0, 12, {32}, torch::kLong),
                                              torch::randint(0, 5, {32}, torch::kLong)};
  const torch::Tensor weights = torch::randn({32, 8});
  const torch::Tensor all_users = torch::arange(0, 11, torch::kLong);  // + a cold user
  torch::manual_seed(5);
  Recommender single(spec, model_test::tiny_shape());
  single.set_user_history(history);
  single.use_item_features(features);
  std::vector<PoolingStep> expected;
  for (const auto& items : batches)
    expected.push_back(pooling_step(single, users, items, weights, 0, 12));
  single.train(false);
  torch::Tensor scored;
  {
    torch::NoGradGuard no_grad;
    scored = single.user_tokens(all_users);
  }

  const std::array<std::pair<int64_t, int64_t>, 2> shards{{{0, 5}, {5, 12}}};
  std::array<std::unique_ptr<Recommender>, 2> models;
  for (auto& m : models) {
    torch::manual_seed(5);
    m = std::make_unique<Recommender>(spec, model_test::tiny_shape());
    m->set_user_history(history);
  }
  std::array<std::vector<PoolingStep>, 2> got;
  std::array<std::vector<torch::Tensor>, 2> got_scored;
  std::mutex mutex;
  const auto errors = run_ranks(2, std::chrono::seconds(60), [&](dist::Communicator& comm) {
    const int rank = comm.rank();
    const auto ranks = dist::tensor_collectives(comm);
    Recommender& model = *models[size_t(rank)];
    model.network()->set_ranks(ranks.get(), rank);
    const auto [begin, end] = shards[size_t(rank)];
    model.shard_items(begin, end);
    model.use_item_features(model_test::slice(features, begin, end));
    std::vector<PoolingStep> steps;
    for (const auto& items : batches)
      steps.push_back(pooling_step(model, users, items, weights, begin, end));
    model.train(false);
    torch::NoGradGuard no_grad;
    model.share_history_rows();  // collective
    std::vector<torch::Tensor> scores;
    for (int call = 0; call <= rank; ++call) scores.push_back(model.user_tokens(all_users));
    model.drop_history_rows();
    const std::lock_guard<std::mutex> lock(mutex);
    got[size_t(rank)] = std::move(steps);
    got_scored[size_t(rank)] = std::move(scores);
  });
  ASSERT_EQ(errors, std::vector<std::string>(2, ""));
  for (size_t s = 0; s < batches.size(); ++s) {
    SCOPED_TRACE("batch " + std::to_string(s));
    const torch::Tensor& items = batches[s];
    for (int rank = 0; rank < 2; ++rank) {
      const auto [begin, end] = shards[size_t(rank)];
      const torch::Tensor mine = items.ge(begin).logical_and(items.lt(end));
      EXPECT_TRUE(torch::allclose(got[size_t(rank)][s].tokens, expected[s].tokens.index({mine}),
                                  1e-6, 1e-6));
    }
    // The owners' gradients together are one process's (every pooled row, none twice); without
    // content the unknown row is not pooled, so no row has two owners.
    std::vector<torch::Tensor> owner_rows;
    torch::Tensor merged = torch::zeros_like(expected[s].item_dense);
    torch::Tensor tags = torch::zeros_like(expected[s].tag_dense);
    for (const auto& per_rank : got) {
      if (per_rank[s].item_rows.defined()) {
        owner_rows.push_back(per_rank[s].item_rows);
        merged += per_rank[s].item_dense;
      }
      tags += per_rank[s].tag_dense;
    }
    ASSERT_FALSE(owner_rows.empty());
    if (!content) {
      EXPECT_TRUE(torch::equal(torch::cat(owner_rows), expected[s].item_rows));
    }
    EXPECT_TRUE(torch::allclose(merged, expected[s].item_dense, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(tags, expected[s].tag_dense, 1e-5, 1e-6));
    EXPECT_EQ(content, expected[s].tag_dense.abs().sum().item<float>() > 0);
    const auto& single_grads = expected[s].network_grads;
    for (size_t p = 0; p < single_grads.size(); ++p) {
      const torch::Tensor summed = got[0][s].network_grads[p] + got[1][s].network_grads[p];
      EXPECT_TRUE(torch::allclose(summed, single_grads[p], 1e-5, 1e-6)) << "parameter " << p;
    }
  }
  // Batch 1 holds no pair of rank 1, whose rows still get the gradient of rank 0's pooling.
  EXPECT_EQ(got[1][1].tokens.size(0), 0);
  ASSERT_TRUE(got[1][1].item_rows.defined());
  EXPECT_GT(got[1][1].item_rows.size(0), 0);
  // Bitwise for ID rows; content vectors run the tower on other item batches (rounding).
  for (const auto& per_rank : got_scored)
    for (const auto& tokens : per_rank)
      EXPECT_TRUE(content ? torch::allclose(tokens, scored, 1e-5, 1e-6)
                          : torch::equal(tokens, scored));
}

TEST(UserHistory, ItemShardedRanksPoolTheOneProcessRowsAndGradients) {
  expect_sharded_pooling_is_one_process(1.0);
  expect_sharded_pooling_is_one_process(0.6);
  expect_sharded_pooling_is_one_process(0.6, true);
  expect_sharded_pooling_is_one_process(0.6, false, 0.1);
}

TEST(UserHistory, CheckpointsRecordThePooling) {
  pixelrec::test::ScratchDir dir("history_ckpt");
  Config config;
  NetworkSpec spec = history_spec(7);
  spec.config.user_history_decay = 0.75;
  spec.config.user_history_base_weight = 0.2;
  spec.config.user_id_embedding = false;
  config.model = spec.config;
  Recommender model(spec, model_test::tiny_shape());
  CheckpointMeta meta;
  meta.config_yaml = config_to_yaml(config);
  meta.content = history_spec(7).content;
  meta.shape = model_test::tiny_shape();
  meta.scorer = "dot";
  const auto path = dir.path() / "history.pt";
  save_checkpoint(path, model, nullptr, meta, CheckpointState{});
  const LoadedCheckpoint loaded = load_checkpoint(path);
  EXPECT_TRUE(loaded.model->pools_history());
  EXPECT_EQ(loaded.model->spec().config.user_history_length, 7);
  EXPECT_EQ(loaded.model->spec().config.user_history_decay, 0.75);
  EXPECT_EQ(loaded.model->spec().config.user_history_base_weight, 0.2);
  EXPECT_FALSE(loaded.model->spec().config.user_id_embedding);
}

}  // namespace
}  // namespace pixelrec::model
