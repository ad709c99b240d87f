// Test-time masking: evaluating `test` removes each user's train ∪ val items from the candidates
// (so under leave-one-out the validation item never competes with the test item); evaluating
// `val` removes only the training items, and test items stay candidates and negatives.
#include <gtest/gtest.h>

#include <set>

#include "core/errors.h"
#include "data/csv.h"
#include "eval/evaluator.h"
#include "eval_thread_world.h"
#include "support/test_support.h"
#include "unit/eval_interactions_fixture.h"

namespace pixelrec::eval {
namespace {

using PairSet = std::set<std::pair<uint32_t, uint32_t>>;

// Training users "0".."4", cold user "900" (index 5); items "100".."111" (index i ↔ 100 + i).
// Training users 0-3: train {u, u+1}, val {u+4}, test {u+8}; items 0..4 are in training, so
// the val items 5, 6, 7 are cold. User 2 also has its val item 6 in test. User 4: train {0, 1},
// val {3}, test {3} (its only test item is a val item). Cold user: val {2}, test {9}.
SplitData make_split() {
  SplitData split;
  split.user_map = IdMap::from_ids({"0", "1", "2", "3", "4"});
  std::vector<std::string> items;
  for (int i = 0; i < 12; ++i) items.push_back(std::to_string(100 + i));
  split.item_map = IdMap::from_ids(items);
  split.cold_user_ids = {"900"};
  split.directory = "masking_split";
  for (uint32_t u = 0; u < 4; ++u) {
    add(split.train, u, {u, u + 1});
    add(split.val, u, {u + 4});
    add(split.test, u, {u + 8});
  }
  add(split.test, 2, {6});
  add(split.train, 4, {0, 1});
  add(split.val, 4, {3});
  add(split.test, 4, {3});
  add(split.val, 5, {2});
  add(split.test, 5, {9});
  split.item_in_train.assign(12, 0);
  for (uint32_t item : split.train.item) split.item_in_train[item] = 1;
  return split;
}

// Scores `favoured` items 2, the other part's items 1, the rest 0; records the pairs it scored.
class PartScorer : public Scorer {
 public:
  PartScorer(const SplitData& split, const IndexedInteractions& favoured,
             const IndexedInteractions& second)
      : favoured_(split.num_users(), favoured), second_(split.num_users(), second) {}
  std::string name() const override { return "part-scorer"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override {
    for (size_t u = 0; u < num_users; ++u)
      for (size_t j = 0; j < num_items; ++j) out[u * num_items + j] = score(users[u], items[j]);
  }
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                   float* out) override {
    for (size_t p = 0; p < count; ++p) out[p] = score(users[p], items[p]);
  }
  PairSet scored;

 private:
  float score(uint32_t user, uint32_t item) {
    scored.emplace(user, item);
    return favoured_.contains(user, item) ? 2.0f : second_.contains(user, item) ? 1.0f : 0.0f;
  }
  UserItemIndex favoured_, second_;
};

struct Fixture {
  SplitData split = make_split();
  EvalContext context = make_eval_context(split, nullptr);
  UserItemIndex train{split.num_users(), split.train}, val{split.num_users(), split.val},
      test{split.num_users(), split.test};
  std::unique_ptr<dist::Communicator> comm = dist::make_single_process_communicator();
};

EvalOptions options_for(EvalTask task, std::vector<int> ks) {
  EvalOptions o;
  o.task = task;
  o.ks = std::move(ks);
  o.num_negatives = 1000;  // sampled: every item the user may be given as a negative
  return o;
}

// The predictions file as (user index, item index) pairs.
PairSet predicted_pairs(const std::filesystem::path& path, const SplitData& split) {
  const CsvTable table = read_csv_table(path);
  std::map<std::string, uint32_t> users;
  for (uint32_t u = 0; u < split.num_users(); ++u) users[split.user_id(u)] = u;
  PairSet pairs;
  for (size_t r = 0; r < table.rows(); ++r)
    pairs.emplace(users.at(table.columns[0][r]), *split.item_map.find(table.columns[2][r]));
  return pairs;
}

TEST(TestMasking, FullTaskOnTestNeverRanksAUsersValidationItems) {
  Fixture f;
  test::ScratchDir dir("eval_masking_full");
  PartScorer val_first(f.split, f.split.val, f.split.test);
  EvalOptions options = options_for(EvalTask::kFull, {1, 2});
  options.predictions_path = (dir / "predictions.csv").string();
  const EvalResult r = evaluate(val_first, f.context, options, *f.comm);
  // User 4's only test item is its val item: no relevant item is left.
  EXPECT_EQ(r.users, (std::vector<uint32_t>{0, 1, 2, 3, 5}));
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].first, "every test item is already in the user's training or validation");
  EXPECT_EQ(r.masked_parts, (std::vector<std::string>{"train", "val"}));
  EXPECT_EQ(r.negatives_exclude_parts, std::vector<std::string>{});  // not the sampled task
  EXPECT_EQ(r.skipped[0].second, 1u);
  // 12 items minus train {u, u+1} and val {u+4}; the cold user loses only its val item.
  EXPECT_EQ(r.candidates_per_user_min, 9u);
  EXPECT_EQ(r.candidates_per_user_max, 11u);
  // With the val items gone, the test item is every user's best candidate.
  EXPECT_DOUBLE_EQ(r.metric("hit_rate@1"), 1.0);
  EXPECT_DOUBLE_EQ(r.metric("mrr"), 1.0);
  for (const auto& [user, item] : predicted_pairs(options.predictions_path, f.split)) {
    EXPECT_FALSE(f.val.contains(user, item)) << "user " << user << " val item " << item;
    EXPECT_FALSE(f.train.contains(user, item)) << "user " << user << " train item " << item;
  }
}

TEST(TestMasking, ColdItemTaskOnTestRemovesColdValidationItems) {
  Fixture f;
  PartScorer val_first(f.split, f.split.val, f.split.test);
  const EvalResult r =
      evaluate(val_first, f.context, options_for(EvalTask::kColdItem, {1}), *f.comm);
  // Cold items are 5..11; users 1-3 have a cold val item (5, 6, 7), user 0's val item 4 is warm.
  EXPECT_EQ(r.candidates_per_user_min, 6u);
  EXPECT_EQ(r.candidates_per_user_max, 7u);
  EXPECT_DOUBLE_EQ(r.metric("hit_rate@1"), 1.0);
}

TEST(TestMasking, TheKCheckCountsMaskedItemsOut) {
  Fixture f;
  PartScorer scorer(f.split, f.split.val, f.split.test);
  try {
    evaluate(scorer, f.context, options_for(EvalTask::kColdItem, {7}), *f.comm);
    FAIL() << "K=7 accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "K=7 exceeds the 6 candidates of the cold_item task (7 cold items, 1 of them in "
                 "user '1''s training or validation); lower --k");
  }
  try {
    evaluate(scorer, f.context, options_for(EvalTask::kFull, {10}), *f.comm);
    FAIL() << "K=10 accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "K=10 exceeds the 9 candidates of the full task (user '0' has 3 of the 12 "
                 "catalogue items in training or validation); lower --k");
  }
}

TEST(TestMasking, SampledTaskOnTestNeverDrawsValidationItems) {
  Fixture f;
  PartScorer val_first(f.split, f.split.val, f.split.test);
  const EvalResult r =
      evaluate(val_first, f.context, options_for(EvalTask::kSampled, {1}), *f.comm);
  for (const auto& [user, item] : val_first.scored)
    EXPECT_FALSE(f.val.contains(user, item)) << "user " << user << " val item " << item;
  EXPECT_DOUBLE_EQ(r.metric("hit_rate@1"), 1.0);
  EXPECT_EQ(r.negatives_exclude_parts, (std::vector<std::string>{"train", "val", "test"}));
}

// A PartScorer holding only the items of `shard`.
class ShardPartScorer : public PartScorer {
 public:
  ShardPartScorer(const SplitData& split, ItemShard shard)
      : PartScorer(split, split.val, split.test), shard_(shard) {}
  std::optional<ItemShard> item_shard() const override { return shard_; }

 private:
  ItemShard shard_;
};

TEST(TestMasking, ItemShardedRanksMaskTheSameItemsAsOneProcess) {
  Fixture f;
  for (EvalTask task : {EvalTask::kFull, EvalTask::kColdItem, EvalTask::kSampled}) {
    SCOPED_TRACE(std::string(eval_task_name(task)));
    PartScorer reference(f.split, f.split.val, f.split.test);
    const EvalResult single = evaluate(reference, f.context, options_for(task, {1, 2}), *f.comm);
    std::vector<EvalResult> results(2);
    run_ranks(2, [&](dist::Communicator& comm) {
      ShardPartScorer scorer(f.split, comm.rank() == 0 ? ItemShard{0, 7} : ItemShard{7, 12});
      results[size_t(comm.rank())] = evaluate(scorer, f.context, options_for(task, {1, 2}), comm);
    });
    EXPECT_DOUBLE_EQ(single.metric("hit_rate@1"), 1.0);
    for (const EvalResult& r : results) expect_same_result(single, r);
  }
}

TEST(ValidationMasking, TestItemsStayCandidatesAndNegativesWhenEvaluatingVal) {
  Fixture f;
  test::ScratchDir dir("eval_masking_val");
  for (EvalTask task : {EvalTask::kFull, EvalTask::kSampled}) {
    SCOPED_TRACE(std::string(eval_task_name(task)));
    PartScorer test_first(f.split, f.split.test, f.split.val);
    EvalOptions options = options_for(task, {1});
    options.predictions_path = (dir / "predictions.csv").string();
    const EvalResult r = evaluate(test_first, f.context, options, *f.comm, "val");
    EXPECT_EQ(r.users, (std::vector<uint32_t>{0, 1, 2, 3, 4, 5}));
    // Full: 12 items minus train {u, u+1}. Sampled: the val positive plus every item outside
    // train ∪ val as a negative, the test items included (12 - 3 = 9 for training users).
    EXPECT_EQ(r.candidates_per_user_min, 10u);
    EXPECT_EQ(r.candidates_per_user_max, 12u);  // the cold user: no training items
    for (uint32_t u = 0; u < 4; ++u)
      EXPECT_TRUE(test_first.scored.count({u, u + 8})) << "user " << u << "'s test item";
    // A test item is a candidate like any other, so it can beat the val item: the top-1 of
    // users 0, 1, 3 and the cold user is their test item.
    const PairSet top = predicted_pairs(options.predictions_path, f.split);
    for (const auto& pair : PairSet{{0, 8}, {1, 9}, {3, 11}, {5, 9}})
      EXPECT_TRUE(top.count(pair)) << "user " << pair.first << " item " << pair.second;
    EXPECT_EQ(r.masked_parts, std::vector<std::string>{"train"});
    if (task == EvalTask::kSampled) {
      EXPECT_EQ(r.negatives_exclude_parts, (std::vector<std::string>{"train", "val"}));
    }
  }
}

}  // namespace
}  // namespace pixelrec::eval
