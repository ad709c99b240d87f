// Top-K lists: seen filtering, order and ties, MMR re-ranking, the fallback for cold and unknown
// users, option errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "eval/baselines.h"
#include "infer/top_k_lists.h"

namespace pixelrec::infer {
namespace {

// Scores from a fixed table (rows = user indices); users outside it score 0. Remembers whom it
// was asked about.
class TableScorer : public eval::Scorer {
 public:
  explicit TableScorer(std::vector<std::vector<float>> table) : table_(std::move(table)) {}
  std::string name() const override { return "table"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override {
    for (size_t u = 0; u < num_users; ++u) {
      scored.push_back(users[u]);
      for (size_t j = 0; j < num_items; ++j) out[u * num_items + j] = score(users[u], items[j]);
    }
  }
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                   float* out) override {
    for (size_t p = 0; p < count; ++p) out[p] = score(users[p], items[p]);
  }
  std::vector<uint32_t> scored;

 private:
  float score(uint32_t user, uint32_t item) const {
    return user < table_.size() ? table_[user][item] : 0.0f;
  }
  std::vector<std::vector<float>> table_;
};

void add(IndexedInteractions& part, uint32_t user, uint32_t item) {
  part.user.push_back(user);
  part.item.push_back(item);
  part.timestamp.push_back(0);
}

// Users "1", "2" (indices 0, 1) and cold "99" (2); items "10".."15".
// Training: u0 {0}, u1 {0, 1, 4}; val: u0 {1}; test: cold u2 {3}.
// Training popularity: item 0: 2, items 1, 4: 1, others 0.
struct Fixture {
  SplitData split;
  UserItemIndex seen;
  std::vector<std::string> titles = {"Zero", "One", "Two", "Three", "Four", "Five"};
  Fixture() {
    split.user_map = IdMap::from_ids({"1", "2"});
    split.item_map = IdMap::from_ids({"10", "11", "12", "13", "14", "15"});
    split.item_in_train = {1, 1, 0, 0, 1, 0};
    split.cold_user_ids = {"99"};
    add(split.train, 0, 0);
    for (uint32_t i : {0, 1, 4}) add(split.train, 1, i);
    add(split.val, 0, 1);
    add(split.test, 2, 3);
    seen = UserItemIndex(split.num_users(), {&split.train, &split.val, &split.test});
  }
};

std::vector<std::string> ids_of(const UserRecommendations& list) {
  std::vector<std::string> ids;
  for (const auto& r : list.items) ids.push_back(r.item_id);
  return ids;
}

TEST(Recommender, FiltersSeenItemsAndBreaksTiesByItemIndex) {
  Fixture f;
  TableScorer model({{0.9f, 0.8f, 0.7f, 0.7f, 0.1f, 0.7f}, {0, 0, 0, 0, 0, 0}});
  eval::PopularityScorer popularity(f.split);
  RecommendOptions options;
  options.top_k = 3;
  const auto lists =
      recommend(model, popularity, f.split, f.seen, nullptr, f.titles, {"1"}, options);
  ASSERT_EQ(lists.size(), 1u);
  const UserRecommendations& list = lists[0];
  EXPECT_EQ(list.user_id, "1");
  EXPECT_EQ(list.source, "model");
  // Items 0 (train) and 1 (val) are known; 2, 3, 5 tie at 0.7 and keep index order.
  EXPECT_EQ(ids_of(list), (std::vector<std::string>{"12", "13", "15"}));
  EXPECT_EQ(list.items[0].rank, 1);
  EXPECT_EQ(list.items[2].rank, 3);
  EXPECT_EQ(list.items[0].item, 2u);
  EXPECT_EQ(list.items[1].title, "Three");
  EXPECT_FLOAT_EQ(float(list.items[2].score), 0.7f);

  options.filter_seen = false;
  const auto unfiltered =
      recommend(model, popularity, f.split, f.seen, nullptr, {}, {"1"}, options);
  EXPECT_EQ(ids_of(unfiltered[0]), (std::vector<std::string>{"10", "11", "12"}));
  EXPECT_EQ(unfiltered[0].items[0].title, "");
}

TEST(Recommender, ListsAreShorterWhenFewItemsRemain) {
  Fixture f;
  TableScorer model({{1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 6}});
  eval::PopularityScorer popularity(f.split);
  RecommendOptions options;
  options.top_k = 10;
  const auto lists = recommend(model, popularity, f.split, f.seen, nullptr, {}, {"2"}, options);
  EXPECT_EQ(ids_of(lists[0]), (std::vector<std::string>{"15", "13", "12"}));  // 0, 1, 4 seen
}

TEST(Recommender, ColdAndUnknownUsersGetThePopularityFallback) {
  Fixture f;
  TableScorer model({{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}});
  eval::PopularityScorer popularity(f.split);
  RecommendOptions options;
  options.top_k = 3;
  const auto lists = recommend(model, popularity, f.split, f.seen, nullptr, f.titles,
                               {"99", "1", "nobody"}, options);
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].user_id, "99");
  EXPECT_EQ(lists[0].source, "popularity_fallback");
  // Popularity 2, 1, 1, then zeros by index; the cold user's test item 3 is filtered.
  EXPECT_EQ(ids_of(lists[0]), (std::vector<std::string>{"10", "11", "14"}));
  EXPECT_EQ(lists[0].items[0].score, 2.0);
  EXPECT_EQ(lists[1].source, "model");
  EXPECT_EQ(lists[2].user_id, "nobody");
  EXPECT_EQ(lists[2].source, "popularity_fallback");
  EXPECT_EQ(ids_of(lists[2]), (std::vector<std::string>{"10", "11", "14"}));
  EXPECT_EQ(model.scored, (std::vector<uint32_t>{0}));  // only the training user
}

// Retrieval by one scorer, re-ranking by another: the list is the re-ranker's order of the
// retrieved (unseen) items only, with the re-ranker's scores; fallback users are not re-ranked.
TEST(Recommender, ARerankerOrdersTheRetrievedItemsOnly) {
  Fixture f;
  // User 1 (index 1) has seen 0, 1, 4; the retriever's top 2 of {2, 3, 5} are 5 and 2.
  TableScorer retriever({{0, 0, 0, 0, 0, 0}, {9, 9, 0.5f, 0.1f, 9, 0.9f}});
  // The re-ranker prefers 3 (not retrieved), then 2 over 5.
  TableScorer reranker({{0, 0, 0, 0, 0, 0}, {0, 0, 0.6f, 0.99f, 0, 0.2f}});
  eval::PopularityScorer popularity(f.split);
  RecommendOptions options;
  options.top_k = 2;
  options.retrieve = 2;
  const auto lists = recommend(retriever, popularity, f.split, f.seen, nullptr, {}, {"2", "99"},
                               options, &reranker);
  EXPECT_EQ(ids_of(lists[0]), (std::vector<std::string>{"12", "15"}));
  EXPECT_FLOAT_EQ(float(lists[0].items[0].score), 0.6f);
  EXPECT_FLOAT_EQ(float(lists[0].items[1].score), 0.2f);
  EXPECT_EQ(lists[1].source, "popularity_fallback");
  EXPECT_EQ(ids_of(lists[1]), (std::vector<std::string>{"10", "11"}));
  // Retrieving 3 brings item 3 in, and the re-ranker puts it first; top_k still cuts the list.
  options.retrieve = 3;
  const auto wider =
      recommend(retriever, popularity, f.split, f.seen, nullptr, {}, {"2"}, options, &reranker);
  EXPECT_EQ(ids_of(wider[0]), (std::vector<std::string>{"13", "12"}));
  options.retrieve = 1;
  EXPECT_THROW(
      recommend(retriever, popularity, f.split, f.seen, nullptr, {}, {"2"}, options, &reranker),
      UsageError);
}

// Items 0 and 1 point the same way, item 2 is orthogonal to both; 3-5 have no content.
eval::ContentVectors mmr_content() {
  eval::ContentVectors c;
  c.num_items = 6;
  c.dim = 2;
  c.values = {1, 0, 0.995f, 0.0998749f, 0, 1, 0, 0, 0, 0, 0, 0};
  c.present = {1, 1, 1, 0, 0, 0};
  return c;
}

TEST(Recommender, MmrPrefersADissimilarItemWhenDiversityWeighsMore) {
  Fixture f;
  const eval::ContentVectors content = mmr_content();
  TableScorer model({{1.0f, 0.9f, 0.6f, 0.1f, 0.05f, 0.0f}, {0, 0, 0, 0, 0, 0}});
  eval::PopularityScorer popularity(f.split);
  RecommendOptions options;
  options.top_k = 3;
  options.filter_seen = false;
  options.use_diversity = true;
  options.novelty_weight = 0.0;

  options.diversity_weight = 0.0;
  auto plain = recommend(model, popularity, f.split, f.seen, &content, {}, {"1"}, options);
  EXPECT_EQ(ids_of(plain[0]), (std::vector<std::string>{"10", "11", "12"}));

  options.diversity_weight = 0.8;
  auto diverse = recommend(model, popularity, f.split, f.seen, &content, {}, {"1"}, options);
  // After item 0, item 1 (cosine 0.995) loses to item 2 (cosine 0): 0.2*0.6 > 0.2*0.9 - 0.8*0.995.
  EXPECT_EQ(ids_of(diverse[0]).front(), "10");
  EXPECT_EQ(ids_of(diverse[0])[1], "12");
  // Scores stay the scorer's; only the order changes.
  EXPECT_FLOAT_EQ(float(diverse[0].items[1].score), 0.6f);
}

TEST(Recommender, MmrNoveltyFavoursItemsRareInTraining) {
  Fixture f;
  const eval::ContentVectors content = mmr_content();
  const std::vector<uint32_t> candidates = {0, 1, 2};
  const std::vector<float> scores = {3, 2, 1};
  const std::vector<double> info = item_self_information(f.split);
  // Smoothed shares: (count + 1) / (4 interactions + 6 items).
  EXPECT_NEAR(info[0], -std::log2(3.0 / 10), 1e-12);
  EXPECT_NEAR(info[2], -std::log2(1.0 / 10), 1e-12);
  EXPECT_EQ(mmr_rerank(candidates, scores, info, content, 3, 0.0, 0.0),
            (std::vector<size_t>{0, 1, 2}));
  // Pure novelty: item 2 (never trained on), then item 1 (once), then item 0 (twice).
  EXPECT_EQ(mmr_rerank(candidates, scores, info, content, 3, 0.0, 1.0),
            (std::vector<size_t>{2, 1, 0}));
  EXPECT_EQ(mmr_rerank(candidates, scores, info, content, 2, 0.0, 1.0).size(), 2u);
}

TEST(Recommender, ThreadCountDoesNotChangeTheLists) {
  Fixture f;
  std::vector<std::vector<float>> table(2, std::vector<float>(6));
  for (int u = 0; u < 2; ++u)
    for (int i = 0; i < 6; ++i) table[u][i] = float((u * 7 + i * 3) % 5);
  TableScorer model(table);
  eval::PopularityScorer popularity(f.split);
  std::vector<std::string> users;
  for (int r = 0; r < 150; ++r) users.push_back(r % 3 == 0 ? "1" : r % 3 == 1 ? "2" : "99");
  RecommendOptions options;
  options.top_k = 4;
  const auto one = recommend(model, popularity, f.split, f.seen, nullptr, {}, users, options);
  options.threads = 4;
  const auto four = recommend(model, popularity, f.split, f.seen, nullptr, {}, users, options);
  ASSERT_EQ(one.size(), 150u);
  for (size_t r = 0; r < one.size(); ++r) {
    EXPECT_EQ(ids_of(one[r]), ids_of(four[r]));
    EXPECT_EQ(one[r].source, four[r].source);
    EXPECT_EQ(one[r].user_id, users[r]);
  }
}

TEST(Recommender, BadOptionsAreErrorsWithTheFix) {
  Fixture f;
  TableScorer model({{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}});
  eval::PopularityScorer popularity(f.split);
  RecommendOptions options;
  options.top_k = 0;
  EXPECT_THROW(recommend(model, popularity, f.split, f.seen, nullptr, {}, {"1"}, options),
               UsageError);
  options.top_k = 5;
  options.use_diversity = true;
  try {
    recommend(model, popularity, f.split, f.seen, nullptr, {}, {"1"}, options);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("--use-diversity"), std::string::npos) << m;
    EXPECT_NE(m.find("pixelrec cache"), std::string::npos) << m;
  }
  const eval::ContentVectors content = mmr_content();
  options.max_candidates = 3;
  EXPECT_THROW(recommend(model, popularity, f.split, f.seen, &content, {}, {"1"}, options),
               ConfigError);
  options.max_candidates = 100;
  options.diversity_weight = 1.5;
  EXPECT_THROW(recommend(model, popularity, f.split, f.seen, &content, {}, {"1"}, options),
               ConfigError);
}

}  // namespace
}  // namespace pixelrec::infer
