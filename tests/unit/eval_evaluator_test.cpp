// evaluate() on a tiny hand-built split with fake scorers: task rules, candidate sets, the K
// check, leakage rules, and exactness across ranks, threads and batch sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <thread>

#include "core/errors.h"
#include "eval/evaluator.h"
#include "eval/tie_order.h"
#include "eval_thread_world.h"
#include "support/test_support.h"
#include "unit/eval_interactions_fixture.h"

namespace pixelrec::eval {
namespace {

using Pairs = std::vector<std::pair<uint32_t, uint32_t>>;

// Users "0".."6" (training) and cold user "900" (index 7); items "100".."111" (index i ↔ 100+i),
// items 8..11 never in training. User 3's test item 3 is also in training; user 6's only test
// item is in training (skipped).
SplitData make_split() {
  SplitData split;
  split.user_map = IdMap::from_ids({"0", "1", "2", "3", "4", "5", "6"});
  std::vector<std::string> items;
  for (int i = 0; i < 12; ++i) items.push_back(std::to_string(100 + i));
  split.item_map = IdMap::from_ids(items);
  split.cold_user_ids = {"900"};
  split.directory = "tiny_split";
  for (uint32_t u = 0; u < 7; ++u) {
    add(split.train, u, {u % 8, (u + 1) % 8, (u + 3) % 8});
    add(split.val, u, {(u + 5) % 8});
  }
  add(split.test, 0, {6});
  add(split.test, 1, {7, 8});
  add(split.test, 2, {0, 9});
  add(split.test, 3, {1, 10, 3});
  add(split.test, 4, {2, 11});
  add(split.test, 5, {3, 8});
  add(split.test, 6, {7});
  add(split.test, 7, {2, 9});
  split.item_in_train.assign(12, 0);
  for (uint32_t item : split.train.item) split.item_in_train[item] = 1;
  return split;
}

// Scores from a function of (user, item); records what it was asked to score.
class FunctionScorer : public Scorer {
 public:
  FunctionScorer(std::string name, std::function<float(uint32_t, uint32_t)> f)
      : name_(std::move(name)), f_(std::move(f)) {}
  std::string name() const override { return name_; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override {
    ++block_calls;
    for (size_t u = 0; u < num_users; ++u)
      for (size_t j = 0; j < num_items; ++j) {
        out[u * num_items + j] = f_(users[u], items[j]);
        scored.emplace_back(users[u], items[j]);
      }
  }
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                   float* out) override {
    ++pair_calls;
    for (size_t p = 0; p < count; ++p) {
      out[p] = f_(users[p], items[p]);
      scored.emplace_back(users[p], items[p]);
    }
  }
  Pairs scored;
  int block_calls = 0, pair_calls = 0;

 private:
  std::string name_;
  std::function<float(uint32_t, uint32_t)> f_;
};

float hash_score(uint32_t u, uint32_t i) { return float((u * 7 + i * 13) % 5); }  // many ties

struct Fixture {
  SplitData split = make_split();
  EvalContext context = make_eval_context(split, nullptr);
  UserItemIndex test_index{split.num_users(), split.test};
  std::unique_ptr<dist::Communicator> comm = dist::make_single_process_communicator();

  FunctionScorer oracle(float sign = 1) {
    return FunctionScorer("oracle", [this, sign](uint32_t u, uint32_t i) {
      return sign * (test_index.contains(u, i) ? 1.0f : 0.0f);
    });
  }
};

EvalOptions options_for(EvalTask task, std::vector<int> ks) {
  EvalOptions o;
  o.task = task;
  o.ks = std::move(ks);
  return o;
}

TEST(EvalTaskNames, ParseAliasesAndRejectRanking) {
  EXPECT_EQ(parse_eval_task("sampled"), EvalTask::kSampled);
  EXPECT_EQ(parse_eval_task("retrieval"), EvalTask::kSampled);
  EXPECT_EQ(parse_eval_task("full"), EvalTask::kFull);
  EXPECT_EQ(parse_eval_task("cold_item"), EvalTask::kColdItem);
  EXPECT_EQ(eval_task_name(EvalTask::kColdItem), "cold_item");
  try {
    parse_eval_task("ranking");
    FAIL() << "ranking accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("MRR = NDCG = 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("use sampled"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_eval_task("Full"), UsageError);
}

TEST(Evaluate, OracleIsPerfectOnTheFullTask) {
  Fixture f;
  FunctionScorer scorer = f.oracle();
  const EvalResult r = evaluate(scorer, f.context, options_for(EvalTask::kFull, {1, 3}), *f.comm);
  // Users 0-5 and cold user 7; user 6's only test item is in training.
  EXPECT_EQ(r.users, (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 7}));
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].second, 1u);
  EXPECT_NE(r.skipped[0].first.find("already in the user's training"), std::string::npos);
  for (const char* name : {"ndcg@1", "ndcg@3", "map@3", "hit_rate@1", "recall@3", "mrr"})
    EXPECT_DOUBLE_EQ(r.metric(name), 1.0) << name;
  // One user has 1 relevant item, six have 2: precision@3 = (1/3 + 6 × 2/3) / 7.
  EXPECT_DOUBLE_EQ(r.metric("precision@3"), (1.0 / 3 + 6 * 2.0 / 3) / 7);
  EXPECT_EQ(r.candidates_per_user_min, 8u);   // 12 items - 3 training items - 1 val item
  EXPECT_EQ(r.candidates_per_user_max, 12u);  // the cold user has no training or val items
  EXPECT_DOUBLE_EQ(r.pairs_scored, 7.0 * 12);
  EXPECT_EQ(r.task, "full");
  EXPECT_EQ(r.part, "test");
  EXPECT_EQ(r.recommender, "oracle");
}

TEST(Evaluate, ReversedOracleMissesEverythingAndMrrCountsAllCandidates) {
  Fixture f;
  FunctionScorer scorer = f.oracle(-1);
  const EvalResult r = evaluate(scorer, f.context, options_for(EvalTask::kFull, {1, 3}), *f.comm);
  EXPECT_EQ(r.metric("hit_rate@3"), 0.0);
  EXPECT_EQ(r.metric("ndcg@3"), 0.0);
  // User 0: 8 candidates, its one relevant item scores lowest → rank 8.
  EXPECT_DOUBLE_EQ(r.per_user[r.per_user_names.size() - 1], 1.0 / 8);
}

// Brute force for the full task: sort every item outside train ∪ val by (score desc, the
// user's tie key asc).
TEST(Evaluate, FullTaskMatchesBruteForceWithTiesAndPredictionsFile) {
  Fixture f;
  test::ScratchDir dir("eval_full");
  FunctionScorer scorer("hash", hash_score);
  EvalOptions options = options_for(EvalTask::kFull, {5, 2});
  options.predictions_path = (dir / "out/predictions.csv").string();
  options.user_batch = 3;
  const EvalResult r = evaluate(scorer, f.context, options, *f.comm);
  EXPECT_EQ(r.per_user_names.front(), "precision@2");  // reported by ascending K
  std::string expected_csv = "user_id,rank,item_id,score\n";
  std::set<uint32_t> shown;
  for (size_t row = 0; row < r.users.size(); ++row) {
    const uint32_t u = r.users[row];
    std::vector<uint32_t> ranking;
    for (uint32_t i = 0; i < 12; ++i)
      if (!f.context.train_val.contains(u, i)) ranking.push_back(i);
    std::sort(ranking.begin(), ranking.end(), [&](uint32_t a, uint32_t b) {
      return hash_score(u, a) > hash_score(u, b) ||
             (hash_score(u, a) == hash_score(u, b) && tie_key(42, u, a) < tie_key(42, u, b));
    });
    std::set<uint32_t> relevant;
    for (const uint32_t* it = f.test_index.begin(u); it != f.test_index.end(u); ++it)
      if (!f.context.train_val.contains(u, *it)) relevant.insert(*it);
    double dcg = 0, idcg = 0, hits = 0;
    for (int k = 0; k < 5; ++k) {
      if (relevant.count(ranking[size_t(k)])) dcg += 1 / std::log2(k + 2.0), ++hits;
      if (k < int(relevant.size())) idcg += 1 / std::log2(k + 2.0);
      shown.insert(ranking[size_t(k)]);
      char line[96];
      std::snprintf(line, sizeof line, "%s,%d,%d,%g\n", f.split.user_id(u).c_str(), k + 1,
                    100 + int(ranking[size_t(k)]), double(hash_score(u, ranking[size_t(k)])));
      expected_csv += line;
    }
    size_t first = 0;
    while (!relevant.count(ranking[first])) ++first;
    const double* values = r.per_user.data() + row * r.per_user_names.size();
    EXPECT_NEAR(values[1], hits / 5, 1e-12) << "precision@5 user " << u;
    EXPECT_NEAR(values[9], dcg / idcg, 1e-12) << "ndcg@5 user " << u;
    EXPECT_NEAR(values[12], 1.0 / double(first + 1), 1e-12) << "mrr user " << u;
  }
  EXPECT_EQ(test::read_text(dir / "out/predictions.csv"), expected_csv);
  EXPECT_DOUBLE_EQ(r.metric("coverage@5"), double(shown.size()) / 12);
  EXPECT_EQ(scorer.block_calls, 3);  // 7 users in batches of 3
}

TEST(Evaluate, SampledNegativesAreNeverKnownItemsAndDoNotDependOnThreadsOrBatches) {
  Fixture f;
  FunctionScorer a("hash", hash_score), b("hash", hash_score);
  EvalOptions options = options_for(EvalTask::kSampled, {1, 3});
  options.num_negatives = 4;
  const EvalResult ra = evaluate(a, f.context, options, *f.comm);
  options.threads = 3;
  options.user_batch = 2;
  const EvalResult rb = evaluate(b, f.context, options, *f.comm);
  EXPECT_EQ(ra.metrics, rb.metrics);
  EXPECT_EQ(ra.per_user, rb.per_user);
  EXPECT_EQ(a.pair_calls, 1);
  EXPECT_EQ(b.pair_calls, 4);
  std::set<std::pair<uint32_t, uint32_t>> sa(a.scored.begin(), a.scored.end());
  EXPECT_EQ(sa, (std::set<std::pair<uint32_t, uint32_t>>(b.scored.begin(), b.scored.end())));
  EXPECT_EQ(sa.size(), a.scored.size());  // candidates are distinct
  std::map<uint32_t, size_t> per_user;
  for (const auto& [u, i] : a.scored) {
    ++per_user[u];
    const bool relevant = f.test_index.contains(u, i) && !f.context.train.contains(u, i);
    EXPECT_TRUE(relevant || !f.context.known.contains(u, i)) << "user " << u << " item " << i;
  }
  EXPECT_EQ(per_user.at(0), 5u);  // 1 positive + 4 negatives
  EXPECT_EQ(per_user.at(3), 6u);  // 2 positives (item 3 is in training) + 4
  EXPECT_EQ(ra.candidates_per_user_min, 5u);
  EXPECT_DOUBLE_EQ(ra.pairs_scored, double(a.scored.size()));
  // Another seed draws other negatives.
  FunctionScorer c("hash", hash_score);
  options.seed = 7;
  evaluate(c, f.context, options, *f.comm);
  EXPECT_NE(sa, (std::set<std::pair<uint32_t, uint32_t>>(c.scored.begin(), c.scored.end())));
}

TEST(Evaluate, SampledUsersGetTheWholeNonKnownCatalogueWhenItIsSmall) {
  Fixture f;
  FunctionScorer scorer("hash", hash_score);
  EvalOptions options = options_for(EvalTask::kSampled, {1});
  options.num_negatives = 1000;
  const EvalResult r = evaluate(scorer, f.context, options, *f.comm);
  // User 0 knows {0,1,3} ∪ {5} ∪ {6}: 7 unknown items + 1 positive.
  size_t user0 = 0;
  for (const auto& [u, i] : scorer.scored) user0 += u == 0;
  EXPECT_EQ(user0, 8u);
  EXPECT_EQ(r.candidates_per_user_min, 8u);
}

TEST(Evaluate, KLargerThanTheCandidateListIsAUsageErrorThatSaysWhy) {
  Fixture f;
  FunctionScorer scorer("hash", hash_score);
  EvalOptions options = options_for(EvalTask::kSampled, {10, 50});
  options.num_negatives = 2;
  try {
    evaluate(scorer, f.context, options, *f.comm);
    FAIL() << "K=50 accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "K=50 exceeds the 3 candidates of the sampled task (1 positive + 2 negatives); "
                 "lower --k or raise --num-negatives");
  }
  try {
    evaluate(scorer, f.context, options_for(EvalTask::kFull, {10}), *f.comm);
    FAIL() << "K=10 accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "K=10 exceeds the 8 candidates of the full task (user '0' has 4 of the 12 "
                 "catalogue items in training or validation); lower --k");
  }
  EXPECT_EQ(scorer.scored.size(), 0u);  // checked before any scoring
  EXPECT_THROW(evaluate(scorer, f.context, options_for(EvalTask::kFull, {0}), *f.comm), UsageError);
  EXPECT_THROW(evaluate(scorer, f.context, options_for(EvalTask::kFull, {3, 3}), *f.comm),
               UsageError);
  EXPECT_THROW(evaluate(scorer, f.context, options_for(EvalTask::kFull, {3}), *f.comm, "train"),
               UsageError);
}

TEST(Evaluate, ColdItemTaskRanksOnlyColdItems) {
  Fixture f;
  FunctionScorer scorer = f.oracle();
  const EvalResult r =
      evaluate(scorer, f.context, options_for(EvalTask::kColdItem, {1, 3}), *f.comm);
  for (const auto& [u, i] : scorer.scored) EXPECT_GE(i, 8u) << "warm item scored";
  EXPECT_EQ(r.users, (std::vector<uint32_t>{1, 2, 3, 4, 5, 7}));
  EXPECT_EQ(r.candidates_per_user_min, 4u);
  EXPECT_EQ(r.candidates_per_user_max, 4u);
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_NE(r.skipped[1].first.find("no cold item"), std::string::npos);
  EXPECT_EQ(r.skipped[1].second, 1u);  // user 0
  EXPECT_DOUBLE_EQ(r.metric("ndcg@3"), 1.0);
  EXPECT_DOUBLE_EQ(r.metric("precision@1"), 1.0);
  // Coverage over the 4 cold items: the top-1 items are 8, 9, 10, 11, 8, 9 → all 4.
  EXPECT_DOUBLE_EQ(r.metric("coverage@1"), 1.0);
}

TEST(Evaluate, NoveltyUsesTrainingPopularityOnly) {
  Fixture f;
  FunctionScorer scorer("hash", hash_score);
  const EvalOptions options = options_for(EvalTask::kFull, {2});
  const EvalResult before = evaluate(scorer, f.context, options, *f.comm);
  SplitData changed = make_split();
  add(changed.test, 0, {2, 4, 7});  // more test interactions of warm items
  add(changed.test, 1, {0, 3});
  const EvalContext changed_context = make_eval_context(changed, nullptr);
  const EvalResult after = evaluate(scorer, changed_context, options, *f.comm);
  EXPECT_NE(before.metric("recall@2"), after.metric("recall@2"));
  EXPECT_EQ(before.metric("novelty@2"), after.metric("novelty@2"));
  // Each warm item has 3 training interactions among 21: p = 4/33; cold items p = 1/33.
  const double warm = -std::log2(4.0 / 33), cold = -std::log2(1.0 / 33);
  EXPECT_GE(before.metric("novelty@2"), warm - 1e-12);
  EXPECT_LE(before.metric("novelty@2"), cold + 1e-12);
}

TEST(Evaluate, DiversityNeedsContentVectorsAndSaysSo) {
  Fixture f;
  FunctionScorer scorer("hash", hash_score);
  const EvalOptions options = options_for(EvalTask::kFull, {1, 2});
  const EvalResult without = evaluate(scorer, f.context, options, *f.comm);
  EXPECT_THROW(without.metric("diversity@2"), Error);
  ASSERT_EQ(without.notes.size(), 1u);
  EXPECT_NE(without.notes[0].find("pixelrec cache"), std::string::npos);
  ContentVectors content;
  content.num_items = 12;
  content.dim = 1;
  content.values.assign(12, 1.0f);  // every item identical: diversity 0
  content.present.assign(12, 1);
  const EvalContext with_context = make_eval_context(f.split, &content);
  const EvalResult with = evaluate(scorer, with_context, options, *f.comm);
  EXPECT_NEAR(with.metric("diversity@2"), 0.0, 1e-12);
  ASSERT_EQ(with.notes.size(), 1u);
  EXPECT_NE(with.notes[0].find("diversity@1"), std::string::npos);
  std::vector<std::string> names;
  for (const auto& [name, v] : with.metrics) names.push_back(name);
  const std::vector<std::string> tail(names.end() - 9, names.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"coverage@1", "coverage@2", "novelty@1", "novelty@2",
                                            "diversity@2", "gini@1", "gini@2", "personalization@1",
                                            "personalization@2"}));
  content.num_items = 11;
  EXPECT_THROW(make_eval_context(f.split, &content), Error);
}

// metric_names() announces exactly the names evaluate() returns (the trainer checks
// training.early_stopping_metric against it before training): with and without content vectors,
// K = 1, and a single user (no personalization@K).
TEST(Evaluate, MetricNamesAreTheNamesEvaluateReturns) {
  Fixture f;
  FunctionScorer scorer("hash", hash_score);
  ContentVectors content;
  content.num_items = 12;
  content.dim = 1;
  content.values.assign(12, 1.0f);
  content.present.assign(12, 1);
  SplitData one_user = f.split;
  one_user.test = {};
  add(one_user.test, 2, {0, 9});
  for (const SplitData* split : {&f.split, &one_user}) {
    for (const ContentVectors* vectors : std::vector<const ContentVectors*>{nullptr, &content}) {
      const EvalContext context = make_eval_context(*split, vectors);
      const EvalOptions options = options_for(EvalTask::kFull, {1, 2, 5});
      const EvalResult result = evaluate(scorer, context, options, *f.comm);
      std::vector<std::string> returned;
      for (const auto& [name, v] : result.metrics) returned.push_back(name);
      EXPECT_EQ(metric_names(options.ks, vectors != nullptr, result.users.size()), returned);
    }
  }
  EXPECT_EQ(metric_names({10}, false, 1).back(), "gini@10");  // no personalization for one user
}

TEST(Evaluate, NanScoresNameTheRecommender) {
  Fixture f;
  FunctionScorer scorer("broken-model", [](uint32_t u, uint32_t i) {
    return u == 2 && i == 4 ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
  });
  try {
    evaluate(scorer, f.context, options_for(EvalTask::kFull, {1}), *f.comm);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'broken-model' returned NaN for user '2' and item '104'"),
              std::string::npos)
        << what;
  }
}

TEST(Evaluate, ValidationPartUsesValInteractions) {
  Fixture f;
  const UserItemIndex val(f.split.num_users(), f.split.val);
  FunctionScorer scorer(
      "val-last", [&val](uint32_t u, uint32_t i) { return val.contains(u, i) ? -1.0f : 0.0f; });
  const EvalResult r =
      evaluate(scorer, f.context, options_for(EvalTask::kFull, {1}), *f.comm, "val");
  EXPECT_EQ(r.part, "val");
  EXPECT_EQ(r.users.size(), 7u);  // every training user has one val item
  EXPECT_EQ(r.metric("hit_rate@1"), 0.0);
  // The val item ranks last among the 12 - 3 items outside training.
  EXPECT_DOUBLE_EQ(r.metric("mrr"), 1.0 / 9);
}

TEST(Evaluate, EveryRankReturnsTheOneProcessResult) {
  Fixture f;
  test::ScratchDir dir("eval_ranks");
  for (EvalTask task : {EvalTask::kSampled, EvalTask::kFull, EvalTask::kColdItem}) {
    EvalOptions options = options_for(task, {1, 3});
    options.num_negatives = 5;
    options.predictions_path = (dir / "single.csv").string();
    FunctionScorer single_scorer("hash", hash_score);
    const EvalResult single = evaluate(single_scorer, f.context, options, *f.comm);
    for (int world_size : {2, 3}) {
      ThreadWorld world(world_size);
      std::vector<EvalResult> results(static_cast<size_t>(world_size));
      std::vector<size_t> scored(static_cast<size_t>(world_size));
      options.predictions_path = (dir / ("ranks" + std::to_string(world_size) + ".csv")).string();
      std::vector<std::thread> ranks;
      for (int rank = 0; rank < world_size; ++rank)
        ranks.emplace_back([&, rank] {
          ThreadCommunicator comm(world, rank);
          FunctionScorer scorer("hash", hash_score);
          results[size_t(rank)] = evaluate(scorer, f.context, options, comm);
          scored[size_t(rank)] = scorer.scored.size();
        });
      for (auto& t : ranks) t.join();
      size_t total_scored = 0;
      for (int rank = 0; rank < world_size; ++rank) {
        SCOPED_TRACE("task " + std::string(eval_task_name(task)) + " ranks " +
                     std::to_string(world_size) + " rank " + std::to_string(rank));
        expect_same_result(single, results[size_t(rank)]);
        EXPECT_GT(scored[size_t(rank)], 0u);  // every rank did a share of the work
        total_scored += scored[size_t(rank)];
      }
      EXPECT_EQ(total_scored, single_scorer.scored.size());
      EXPECT_EQ(test::read_text(options.predictions_path), test::read_text(dir / "single.csv"));
    }
  }
}

TEST(Evaluate, AFailureOnOneRankIsRaisedOnEveryRank) {
  Fixture f;
  ThreadWorld world(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> ranks;
  for (int rank = 0; rank < 2; ++rank)
    ranks.emplace_back([&, rank] {
      ThreadCommunicator comm(world, rank);
      // NaN only for the cold user 7, who is in rank 1's share.
      FunctionScorer scorer("nan-on-7", [](uint32_t u, uint32_t) {
        return u == 7 ? std::numeric_limits<float>::quiet_NaN() : 1.0f;
      });
      try {
        evaluate(scorer, f.context, options_for(EvalTask::kFull, {1}), comm);
      } catch (const Error& e) {
        errors[size_t(rank)] = e.what();
      }
    });
  for (auto& t : ranks) t.join();
  EXPECT_NE(errors[1].find("'nan-on-7' returned NaN for user '900'"), std::string::npos);
  EXPECT_EQ(errors[0], "evaluation failed on rank 1: " + errors[1]);
}

}  // namespace
}  // namespace pixelrec::eval
