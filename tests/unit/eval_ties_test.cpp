// Ties: a scorer that cannot tell items apart must rank like random. Equal scores are ordered by
// a seeded per-user pseudo-random key, never by item index (ids follow catalogue age and
// popularity in real data, so index order is not neutral).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "data/csv.h"
#include "eval/baselines.h"
#include "eval/evaluator.h"
#include "eval/tie_order.h"
#include "eval_thread_world.h"
#include "support/test_support.h"

namespace pixelrec::eval {
namespace {

constexpr uint32_t kUsers = 3000, kItems = 60, kColdItems = 40;

void add(IndexedInteractions& part, uint32_t user, uint32_t item) {
  part.user.push_back(user);
  part.item.push_back(item);
  part.timestamp.push_back(0);
}

// Items 0..39 are cold, 40..59 warm. User u trains on 40 + u % 20, validates on 40 + (u+7) % 20
// and tests on the cold item u % 3: relevant items always have the lowest indices, so ranking
// ties by index would put them first.
SplitData make_split() {
  SplitData split;
  std::vector<std::string> ids;
  for (uint32_t u = 0; u < kUsers; ++u) ids.push_back(std::to_string(u));  // digits: index = number
  split.user_map = IdMap::from_ids(ids);
  ids.clear();
  for (uint32_t i = 0; i < kItems; ++i) ids.push_back(std::to_string(i));
  split.item_map = IdMap::from_ids(ids);
  split.directory = "ties_split";
  for (uint32_t u = 0; u < kUsers; ++u) {
    add(split.train, u, kColdItems + u % 20);
    add(split.val, u, kColdItems + (u + 7) % 20);
    add(split.test, u, u % 3);
  }
  split.item_in_train.assign(kItems, 0);
  for (uint32_t item : split.train.item) split.item_in_train[item] = 1;
  return split;
}

class ConstantScorer : public Scorer {
 public:
  std::string name() const override { return "constant"; }
  void score_block(const uint32_t*, size_t num_users, const uint32_t*, size_t num_items,
                   float* out) override {
    std::fill(out, out + num_users * num_items, 0.5f);
  }
  void score_pairs(const uint32_t*, const uint32_t*, size_t count, float* out) override {
    std::fill(out, out + count, 0.5f);
  }
};

// Mean and variance of a per-user metric when the one relevant item's rank r is uniform on
// 1..n, from the metric's value f(r).
template <class F>
std::pair<double, double> random_ranking_moments(size_t n, F f) {
  double mean = 0, square = 0;
  for (size_t r = 1; r <= n; ++r) {
    mean += f(r) / double(n);
    square += f(r) * f(r) / double(n);
  }
  return {mean, square - mean * mean};
}

// Every accuracy metric at K = 10 lies within 4 standard errors of its expectation under a
// uniformly random ranking of n candidates.
void expect_random_ranking(const EvalResult& r, size_t n) {
  ASSERT_EQ(r.users.size(), kUsers);
  ASSERT_EQ(r.candidates_per_user_min, n);
  ASSERT_EQ(r.candidates_per_user_max, n);
  const auto hit = [](size_t rank) { return rank <= 10 ? 1.0 : 0.0; };
  const auto ndcg = [](size_t rank) { return rank <= 10 ? 1 / std::log2(rank + 1.0) : 0.0; };
  const auto mrr = [](size_t rank) { return 1 / double(rank); };
  const std::vector<std::pair<std::string, std::pair<double, double>>> expected = {
      {"hit_rate@10", random_ranking_moments(n, hit)},
      {"recall@10", random_ranking_moments(n, hit)},
      {"ndcg@10", random_ranking_moments(n, ndcg)},
      {"mrr", random_ranking_moments(n, mrr)}};
  for (const auto& [name, moments] : expected) {
    const double bound = 4 * std::sqrt(moments.second / kUsers);
    EXPECT_NEAR(r.metric(name), moments.first, bound) << name << " over " << n << " candidates";
  }
}

struct Fixture {
  SplitData split = make_split();
  EvalContext context = make_eval_context(split, nullptr);
  std::unique_ptr<dist::Communicator> comm = dist::make_single_process_communicator();
};

EvalOptions options_for(EvalTask task) {
  EvalOptions o;
  o.task = task;
  o.ks = {10};
  o.num_negatives = 20;
  return o;
}

TEST(Ties, AConstantScorerRanksLikeRandomOnTheFullTask) {
  Fixture f;
  ConstantScorer constant;
  // 60 items minus the user's train and val items.
  expect_random_ranking(evaluate(constant, f.context, options_for(EvalTask::kFull), *f.comm), 58);
}

TEST(Ties, AConstantScorerRanksLikeRandomOnTheSampledTask) {
  Fixture f;
  ConstantScorer constant;
  expect_random_ranking(evaluate(constant, f.context, options_for(EvalTask::kSampled), *f.comm),
                        21);
}

// Popularity scores every cold item 0: on the cold-item task it knows nothing.
TEST(Ties, PopularityOnColdItemsRanksLikeRandom) {
  Fixture f;
  PopularityScorer popularity(f.split);
  expect_random_ranking(evaluate(popularity, f.context, options_for(EvalTask::kColdItem), *f.comm),
                        kColdItems);
}

// The items 0..n-1 in the user's tie order.
std::vector<uint32_t> tie_ordered(uint64_t seed, uint32_t user, uint32_t n) {
  std::vector<uint32_t> items(n);
  std::iota(items.begin(), items.end(), 0u);
  std::sort(items.begin(), items.end(), [&](uint32_t a, uint32_t b) {
    return tie_key(seed, user, a) < tie_key(seed, user, b);
  });
  return items;
}

TEST(TieKey, IsASeededPerUserOrderWithDistinctKeys) {
  std::set<uint64_t> keys;
  for (uint32_t i = 0; i < 10000; ++i) keys.insert(tie_key(42, 7, i));
  EXPECT_EQ(keys.size(), 10000u);  // a bijection of the item: the order is total
  EXPECT_EQ(tie_key(42, 7, 3), TieOrder(42, 7).key(3));
  EXPECT_EQ(tie_ordered(42, 7, 20), tie_ordered(42, 7, 20));
  EXPECT_NE(tie_ordered(42, 7, 20), tie_ordered(42, 8, 20));  // another user
  EXPECT_NE(tie_ordered(42, 7, 20), tie_ordered(43, 7, 20));  // another seed
}

// A constant scorer's top list is the user's candidates in tie-key order, from the options'
// seed, whatever the rank count or item shards; the result records the seed.
TEST(Ties, AConstantScorersListIsTheUsersTieOrderOnAnyRankCount) {
  Fixture f;
  test::ScratchDir dir("eval_ties_lists");
  for (uint64_t seed : {42u, 7u}) {
    EvalOptions options = options_for(EvalTask::kFull);
    options.ks = {5};
    options.seed = seed;
    options.predictions_path = (dir / "single.csv").string();
    ConstantScorer constant;
    const EvalResult single = evaluate(constant, f.context, options, *f.comm);
    EXPECT_EQ(single.tie_seed, seed);
    const CsvTable table = read_csv_table(options.predictions_path);
    for (uint32_t u = 0; u < 50; ++u) {
      std::vector<uint32_t> expected;
      for (uint32_t item : tie_ordered(seed, u, kItems))
        if (!f.context.train_val.contains(u, item) && expected.size() < 5) expected.push_back(item);
      for (size_t k = 0; k < 5; ++k)
        ASSERT_EQ(table.columns[2][u * 5 + k], std::to_string(expected[k]))
            << "user " << u << " rank " << k + 1 << " seed " << seed;
    }
    options.predictions_path = (dir / "ranks.csv").string();
    run_ranks(3, [&](dist::Communicator& comm) {
      ConstantScorer scorer;
      expect_same_result(single, evaluate(scorer, f.context, options, comm));
    });
    EXPECT_EQ(test::read_text(dir / "ranks.csv"), test::read_text(dir / "single.csv"));
  }
}

}  // namespace
}  // namespace pixelrec::eval
