// evaluate() when each rank's scorer holds only an item shard: exactly the one-process result
// for every task, rank count and shard layout, each rank scoring only its own items; shard
// layouts that do not partition the catalogue, and failures, raised on every rank.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>

#include "core/errors.h"
#include "eval/evaluator.h"
#include "eval_thread_world.h"
#include "support/test_support.h"
#include "unit/eval_interactions_fixture.h"

namespace pixelrec::eval {
namespace {

using Pairs = std::vector<std::pair<uint32_t, uint32_t>>;
using PairSet = std::set<std::pair<uint32_t, uint32_t>>;
using ScoreFunction = std::function<float(uint32_t, uint32_t)>;

constexpr uint32_t kItems = 13;  // divisible neither by 2 nor by 3

// Users "0".."8" and cold user "900" (index 9); items "100".."112", 9..12 never in training.
// Each user's test items are one warm and one cold item (user 2's warm one is a training item).
SplitData make_split() {
  SplitData split;
  split.user_map = IdMap::from_ids({"0", "1", "2", "3", "4", "5", "6", "7", "8"});
  std::vector<std::string> items;
  for (uint32_t i = 0; i < kItems; ++i) items.push_back(std::to_string(100 + i));
  split.item_map = IdMap::from_ids(items);
  split.cold_user_ids = {"900"};
  split.directory = "sharded_split";
  for (uint32_t u = 0; u < 9; ++u) {
    add(split.train, u, {u, (u + 2) % 9, (u + 5) % 9});
    add(split.val, u, {(u + 7) % 9});
    add(split.test, u, {u == 2 ? 4u : (u + 4) % 9, 9 + u % 4});
  }
  add(split.test, 9, {1, 11});
  split.item_in_train.assign(kItems, 0);
  for (uint32_t item : split.train.item) split.item_in_train[item] = 1;
  return split;
}

// Scores from a function; reports `shard` and records any item asked for outside it.
class ShardScorer : public Scorer {
 public:
  ShardScorer(ScoreFunction f, std::optional<ItemShard> shard) : f_(std::move(f)), shard_(shard) {}
  std::string name() const override { return "sharded"; }
  std::optional<ItemShard> item_shard() const override { return shard_; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override {
    ++calls;
    for (size_t u = 0; u < num_users; ++u)
      for (size_t j = 0; j < num_items; ++j) out[u * num_items + j] = score(users[u], items[j]);
  }
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                   float* out) override {
    ++calls;
    for (size_t p = 0; p < count; ++p) out[p] = score(users[p], items[p]);
  }
  Pairs scored, violations;
  int calls = 0;

 private:
  float score(uint32_t user, uint32_t item) {
    scored.emplace_back(user, item);
    if (shard_ && (item < shard_->begin || item >= shard_->end))
      violations.emplace_back(user, item);
    return f_(user, item);
  }
  ScoreFunction f_;
  std::optional<ItemShard> shard_;
};

float hash_score(uint32_t u, uint32_t i) { return float((u * 7 + i * 13) % 5); }  // many ties
float constant_score(uint32_t, uint32_t) { return 0.5f; }  // ties only: item order decides

EvalOptions options_for(EvalTask task, std::vector<int> ks) {
  EvalOptions o;
  o.task = task;
  o.ks = std::move(ks);
  o.num_negatives = 6;
  return o;
}

std::vector<ItemShard> even_shards(int ranks) {
  std::vector<ItemShard> shards;
  for (int r = 0; r < ranks; ++r)
    shards.push_back(
        {kItems * uint32_t(r) / uint32_t(ranks), kItems * uint32_t(r + 1) / uint32_t(ranks)});
  return shards;
}

struct RankRun {
  std::vector<EvalResult> results;
  std::vector<std::string> errors;
  std::vector<Pairs> scored, violations;
  std::vector<int> calls;
};

// Runs evaluate() on shards.size() ranks, rank r's scorer holding shards[r] (nullopt: all).
RankRun run_sharded(const EvalContext& context, const EvalOptions& options, const ScoreFunction& f,
                    const std::vector<std::optional<ItemShard>>& shards) {
  const size_t n = shards.size();
  RankRun run{std::vector<EvalResult>(n), std::vector<std::string>(n), std::vector<Pairs>(n),
              std::vector<Pairs>(n), std::vector<int>(n)};
  run_ranks(int(n), [&](dist::Communicator& comm) {
    const size_t r = size_t(comm.rank());
    ShardScorer scorer(f, shards[r]);
    try {
      run.results[r] = evaluate(scorer, context, options, comm);
    } catch (const std::exception& e) {
      run.errors[r] = e.what();
    }
    run.scored[r] = scorer.scored;
    run.violations[r] = scorer.violations;
    run.calls[r] = scorer.calls;
  });
  return run;
}

struct Fixture {
  SplitData split = make_split();
  EvalContext context = make_eval_context(split, nullptr);
  std::unique_ptr<dist::Communicator> single = dist::make_single_process_communicator();
};

TEST(ItemShardedEvaluate, EveryRankReturnsTheOneProcessResultForEveryTaskAndLayout) {
  Fixture f;
  test::ScratchDir dir("eval_item_sharded");
  const std::vector<std::vector<ItemShard>> layouts = {
      even_shards(2), even_shards(3), {{0, 10}, {10, 11}, {11, 13}}, {{0, 0}, {0, 12}, {12, 13}}};
  const std::vector<std::pair<const char*, ScoreFunction>> functions = {
      {"hash", hash_score}, {"constant", constant_score}};
  for (EvalTask task : {EvalTask::kSampled, EvalTask::kFull, EvalTask::kColdItem}) {
    for (const auto& [function_name, function] : functions) {
      EvalOptions options = options_for(
          task, task == EvalTask::kColdItem ? std::vector<int>{1, 3} : std::vector<int>{2, 5});
      options.predictions_path = (dir / "single.csv").string();
      ShardScorer reference(function, std::nullopt);
      const EvalResult single = evaluate(reference, f.context, options, *f.single);
      const std::string single_csv = test::read_text(dir / "single.csv");
      const PairSet single_pairs(reference.scored.begin(), reference.scored.end());
      ASSERT_EQ(single_pairs.size(), reference.scored.size());
      options.predictions_path = (dir / "ranks.csv").string();
      options.user_batch = 3;  // 10 users: batches of 3, 3, 3, 1
      options.threads = 2;
      for (const std::vector<ItemShard>& layout : layouts) {
        SCOPED_TRACE(std::string(eval_task_name(task)) + " " + function_name + " on " +
                     std::to_string(layout.size()) + " ranks, rank 1 [" +
                     std::to_string(layout[1].begin) + ", " + std::to_string(layout[1].end) + ")");
        const RankRun run =
            run_sharded(f.context, options, function, {layout.begin(), layout.end()});
        Pairs all_scored;
        for (size_t r = 0; r < layout.size(); ++r) {
          EXPECT_EQ(run.errors[r], "");
          expect_same_result(single, run.results[r]);
          EXPECT_EQ(run.violations[r], Pairs{})
              << "rank " << r << " scored items outside its shard";
          all_scored.insert(all_scored.end(), run.scored[r].begin(), run.scored[r].end());
        }
        // Each pair the one-process run scored was scored by exactly one rank.
        EXPECT_EQ(all_scored.size(), reference.scored.size());
        EXPECT_EQ(PairSet(all_scored.begin(), all_scored.end()), single_pairs);
        EXPECT_EQ(test::read_text(dir / "ranks.csv"), single_csv);
      }
    }
  }
}

TEST(ItemShardedEvaluate, EachRankScoresAllUsersAgainstItsShardOnly) {
  Fixture f;
  const EvalOptions options = options_for(EvalTask::kFull, {2});
  const RankRun run =
      run_sharded(f.context, options, hash_score, {ItemShard{0, 4}, ItemShard{4, 13}});
  ASSERT_EQ(run.errors, (std::vector<std::string>{"", ""}));
  // 10 evaluated users (every user has an unseen test item) × the shard's items.
  EXPECT_EQ(run.scored[0].size(), 10u * 4);
  EXPECT_EQ(run.scored[1].size(), 10u * 9);
  EXPECT_DOUBLE_EQ(run.results[0].pairs_scored, 10.0 * 13);
  EXPECT_EQ(run.calls[0], 1);  // one batch of 256 users
}

TEST(ItemShardedEvaluate, ShardsThatDoNotPartitionTheCatalogueFailOnEveryRank) {
  Fixture f;
  const EvalOptions options = options_for(EvalTask::kFull, {2});
  const std::vector<std::vector<std::optional<ItemShard>>> bad = {
      {ItemShard{0, 6}, ItemShard{7, 13}},                    // gap
      {ItemShard{0, 7}, ItemShard{6, 13}},                    // overlap
      {ItemShard{6, 13}, ItemShard{0, 6}},                    // wrong rank order
      {ItemShard{0, 6}, ItemShard{6, 12}},                    // item 12 missing
      {ItemShard{0, 6}, std::nullopt},                        // rank 1 scores every item
      {ItemShard{0, 4}, ItemShard{4, 3}, ItemShard{3, 13}}};  // reversed range
  for (const auto& shards : bad) {
    const RankRun run = run_sharded(f.context, options, hash_score, shards);
    for (size_t r = 0; r < shards.size(); ++r) {
      EXPECT_NE(run.errors[r].find("do not partition the 13-item catalogue in rank order"),
                std::string::npos)
          << run.errors[r];
      EXPECT_EQ(run.errors[r], run.errors[0]);
      EXPECT_EQ(run.calls[r], 0);  // checked before any scoring
    }
  }
  const RankRun gap = run_sharded(f.context, options, hash_score, bad[4]);
  EXPECT_EQ(gap.errors[0],
            "the item shards of recommender 'sharded' do not partition the 13-item catalogue in "
            "rank order (rank 0: [0, 6), rank 1: every item); every rank must hold a shard, rank "
            "0 starting at item 0, each next rank where the previous one ends and the last ending "
            "at 13 (e.g. rank r: [13·r/2, 13·(r+1)/2))");

  ShardScorer partial(hash_score, ItemShard{0, 12});
  try {
    evaluate(partial, f.context, options, *f.single);
    FAIL() << "one process with a partial shard accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "recommender 'sharded' holds only the items [0, 12) of the 13-item catalogue, "
                 "but one process must score every item; run the evaluation with the ranks the "
                 "item shards were made for, or load the whole catalogue");
  }
  // One process holding the whole catalogue is the ordinary evaluation.
  ShardScorer whole(hash_score, ItemShard{0, kItems}), plain(hash_score, std::nullopt);
  expect_same_result(evaluate(plain, f.context, options, *f.single),
                     evaluate(whole, f.context, options, *f.single));
}

float nan_on_item_7(uint32_t u, uint32_t i) {
  return i == 7 ? std::numeric_limits<float>::quiet_NaN() : hash_score(u, i);
}

TEST(ItemShardedEvaluate, ANanOnOneRanksItemsIsRaisedOnEveryRankAfterOneBatch) {
  Fixture f;
  for (EvalTask task : {EvalTask::kFull, EvalTask::kSampled}) {
    SCOPED_TRACE(std::string(eval_task_name(task)));
    EvalOptions options = options_for(task, {1});
    options.num_negatives = 12;  // every unknown item, so item 7 is a candidate of user 0
    options.user_batch = 2;
    const std::vector<ItemShard> shards = even_shards(3);  // item 7 is rank 1's: [4, 8)
    const RankRun run =
        run_sharded(f.context, options, nan_on_item_7, {shards.begin(), shards.end()});
    // The first user with item 7 among its candidates: user 0 for full; for sampled user 1,
    // since item 7 is user 0's validation item (known, never a negative).
    const std::string user = task == EvalTask::kFull ? "0" : "1";
    EXPECT_NE(
        run.errors[1].find("recommender 'sharded' returned NaN for user '" + user +
                           "' and item '107' (" + std::string(eval_task_name(task)) + " task)"),
        std::string::npos)
        << run.errors[1];
    EXPECT_EQ(run.errors[0], "evaluation failed on rank 1: " + run.errors[1]);
    EXPECT_EQ(run.errors[2], "evaluation failed on rank 1: " + run.errors[1]);
    for (size_t r = 0; r < 3; ++r) EXPECT_EQ(run.calls[r], 1) << "rank " << r << " went on";
  }
}

TEST(ItemShardedEvaluate, AScorerExceptionOnOneRankIsRaisedOnEveryRank) {
  Fixture f;
  EvalOptions options = options_for(EvalTask::kColdItem, {1});
  options.user_batch = 4;
  const RankRun run = run_sharded(f.context, options,
                                  [](uint32_t u, uint32_t i) -> float {
                                    if (u == 5 && i == 12)
                                      throw std::runtime_error("feature row 12 is missing");
                                    return float(i);
                                  },
                                  {ItemShard{0, 11}, ItemShard{11, 13}});
  EXPECT_EQ(run.errors[0], "evaluation failed on rank 1: feature row 12 is missing");
  EXPECT_EQ(run.errors[1], "feature row 12 is missing");  // rank 1 rethrows its own exception
  // cold_item evaluates the 10 users in batches of 4: user 5 is in the second, after which
  // both ranks stop.
  EXPECT_EQ(run.calls[0], 2);
  EXPECT_EQ(run.calls[1], 2);
}

}  // namespace
}  // namespace pixelrec::eval
