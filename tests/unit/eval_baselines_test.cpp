// The baselines: hand-computed scores on a tiny split, exactly k neighbours, blocks that agree
// with pairs, training data only, and results that do not depend on the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/errors.h"
#include "core/rng.h"
#include "eval/baselines.h"

namespace pixelrec::eval {
namespace {

void add(IndexedInteractions& part, uint32_t user, uint32_t item) {
  part.user.push_back(user);
  part.item.push_back(item);
  part.timestamp.push_back(int64_t(part.size()));
}

// Users "1".."4" (indices 0-3) and cold user "99" (index 4); items "10".."15" (indices 0-5).
// Training: u0 {0,1,2}, u1 {0,1}, u2 {1,3}, u3 {2,3,4}; item 5 is cold but popular in val/test.
SplitData tiny_split() {
  SplitData s;
  s.user_map = IdMap::from_ids({"1", "2", "3", "4"});
  s.item_map = IdMap::from_ids({"10", "11", "12", "13", "14", "15"});
  s.item_in_train = {1, 1, 1, 1, 1, 0};
  s.cold_user_ids = {"99"};
  for (uint32_t i : {0, 1, 2}) add(s.train, 0, i);
  for (uint32_t i : {0, 1}) add(s.train, 1, i);
  for (uint32_t i : {1, 3}) add(s.train, 2, i);
  for (uint32_t i : {2, 3, 4}) add(s.train, 3, i);
  for (uint32_t u : {0, 1, 2, 3}) add(s.val, u, 5);
  for (uint32_t u : {0, 1, 2, 3, 4}) add(s.test, u, 5);
  return s;
}

// dim 2: items 0,2 = (1,0); 1 = (0,1); 3 = (0.6,0.8); 4 has no content; 5 (cold) = (0.8,0.6).
ContentVectors tiny_content() {
  ContentVectors c;
  c.num_items = 6;
  c.dim = 2;
  c.values = {1, 0, 0, 1, 1, 0, 0.6f, 0.8f, 0, 0, 0.8f, 0.6f};
  c.present = {1, 1, 1, 1, 0, 1};
  return c;
}

struct Fixture {
  SplitData split = tiny_split();
  UserItemIndex train{split.num_users(), split.train};
  ContentVectors content = tiny_content();
  BaselineInputs inputs(int k, double shrinkage, int threads = 1) {
    BaselineInputs in;
    in.split = &split;
    in.train = &train;
    in.content = &content;
    in.knn_neighbors = k;
    in.knn_shrinkage = shrinkage;
    in.threads = threads;
    return in;
  }
};

// All scores of one user over the whole catalogue, through score_block.
std::vector<float> user_row(Scorer& scorer, uint32_t user, uint32_t num_items) {
  std::vector<uint32_t> items(num_items);
  for (uint32_t i = 0; i < num_items; ++i) items[i] = i;
  std::vector<float> out(num_items);
  scorer.score_block(&user, 1, items.data(), num_items, out.data());
  return out;
}

void expect_row(const std::vector<float>& row, const std::vector<double>& expected) {
  ASSERT_EQ(row.size(), expected.size());
  for (size_t i = 0; i < row.size(); ++i) EXPECT_NEAR(row[i], expected[i], 1e-6) << "item " << i;
}

const double kS6 = 1.0 / (std::sqrt(6.0) + 1.0);  // one shared of sizes 2·3, shrinkage 1
const double kS4 = 1.0 / 3.0;                     // one shared of sizes 2·2
const double kS2 = 1.0 / (std::sqrt(2.0) + 1.0);  // one shared of sizes 2·1

TEST(Baselines, NamesAndUnknownNameError) {
  EXPECT_EQ(baseline_names(), (std::vector<std::string>{"random", "popularity", "itemknn",
                                                        "userknn", "contentknn", "ease", "ials"}));
  Fixture f;
  for (const auto& name : baseline_names())
    EXPECT_EQ(make_baseline(name, f.inputs(2, 1))->name(), name);
  try {
    make_baseline("itemkn", f.inputs(2, 1));
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("unknown baseline 'itemkn'"), std::string::npos) << m;
    EXPECT_NE(m.find("did you mean 'itemknn'"), std::string::npos) << m;
    EXPECT_NE(m.find("random, popularity, itemknn, userknn, contentknn"), std::string::npos) << m;
  }
}

TEST(Baselines, InvalidKnnSettingsAndMissingContentAreErrors) {
  Fixture f;
  EXPECT_THROW(make_baseline("itemknn", f.inputs(0, 1)), ConfigError);
  EXPECT_THROW(make_baseline("userknn", f.inputs(5, -1)), ConfigError);
  BaselineInputs no_content = f.inputs(2, 1);
  no_content.content = nullptr;
  try {
    make_baseline("contentknn", no_content);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pixelrec cache"), std::string::npos);
  }
  f.content.num_items = 5;
  EXPECT_THROW(make_baseline("contentknn", f.inputs(2, 1)), Error);
}

TEST(Baselines, PopularityCountsTrainingInteractionsOnly) {
  Fixture f;
  auto scorer = make_baseline("popularity", f.inputs(2, 1));
  // Item 5 has 9 val/test interactions and none in training.
  expect_row(user_row(*scorer, 0, 6), {2, 3, 2, 2, 1, 0});
  expect_row(user_row(*scorer, 4, 6), {2, 3, 2, 2, 1, 0});
}

TEST(Baselines, ItemKnnKeepsTopKWithTiesToTheLowerIndex) {
  Fixture f;
  ItemKnnScorer scorer(f.train, 6, 2, 1.0, 1);
  const NeighbourLists& n = scorer.neighbours();
  auto list = [&](uint32_t item) {
    return std::vector<uint32_t>(n.index.begin() + n.offsets[item],
                                 n.index.begin() + n.offsets[item + 1]);
  };
  EXPECT_EQ(list(0), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(list(1), (std::vector<uint32_t>{0, 2}));  // 2 and 3 tie: the lower index wins
  EXPECT_EQ(list(2), (std::vector<uint32_t>{0, 4}));  // 0 and 3 tie at 1/3 behind 4
  EXPECT_EQ(list(3), (std::vector<uint32_t>{2, 4}));
  EXPECT_EQ(list(4), (std::vector<uint32_t>{2, 3}));
  EXPECT_TRUE(list(5).empty());
  EXPECT_NEAR(n.find(0, 1), 2.0 / (std::sqrt(6.0) + 1.0), 1e-7);
  EXPECT_NEAR(n.find(2, 4), kS2, 1e-7);
  EXPECT_EQ(n.find(0, 3), 0.0f);
}

TEST(Baselines, ItemKnnScoresSumNeighbourSimilarities) {
  Fixture f;
  auto scorer = make_baseline("itemknn", f.inputs(2, 1));
  const double s01 = 2.0 / (std::sqrt(6.0) + 1.0);
  expect_row(user_row(*scorer, 0, 6), {s01 + kS4, s01, kS4 + kS6, 0, kS2, 0});
  expect_row(user_row(*scorer, 3, 6), {kS4, 0, kS4 + kS2, kS2, 2 * kS2, 0});
  expect_row(user_row(*scorer, 4, 6), {0, 0, 0, 0, 0, 0});  // cold user
}

TEST(Baselines, UserKnnScoresSumNeighbourSimilarities) {
  Fixture f;
  UserKnnScorer scorer(f.train, 6, 2, 1.0, 1);
  const NeighbourLists& n = scorer.neighbours();
  // u2's candidates: u1 (1/3), then u0 and u3 tie at 1/(√6+1): u0 wins.
  EXPECT_EQ(n.count(2), 2u);
  EXPECT_NEAR(n.find(2, 1), kS4, 1e-7);
  EXPECT_NEAR(n.find(2, 0), kS6, 1e-7);
  EXPECT_EQ(n.find(2, 3), 0.0f);
  EXPECT_EQ(n.count(4), 0u);
  // u2: neighbours u1 {0,1} (1/3) and u0 {0,1,2} (kS6).
  expect_row(user_row(scorer, 2, 6), {kS4 + kS6, kS4 + kS6, kS6, 0, 0, 0});
  // u3: neighbours u2 {1,3} (kS6) and u0 {0,1,2} (1/(3+1)).
  expect_row(user_row(scorer, 3, 6), {0.25, kS6 + 0.25, 0.25, kS6, 0, 0});
  expect_row(user_row(scorer, 4, 6), {0, 0, 0, 0, 0, 0});
}

TEST(Baselines, ContentKnnScoresColdItemsFromTheUserProfile) {
  Fixture f;
  auto scorer = make_baseline("contentknn", f.inputs(2, 1));
  // u0 profile = mean of (1,0), (0,1), (1,0) = (2/3, 1/3).
  expect_row(user_row(*scorer, 0, 6), {2.0 / 3, 1.0 / 3, 2.0 / 3, 0.4 + 0.8 / 3, 0, 1.6 / 3 + 0.2});
  // u3 profile skips item 4 (no content): mean of (1,0), (0.6,0.8) = (0.8, 0.4).
  expect_row(user_row(*scorer, 3, 6), {0.8, 0.4, 0.8, 0.8, 0, 0.88});
  expect_row(user_row(*scorer, 4, 6), {0, 0, 0, 0, 0, 0});
}

TEST(Baselines, RandomIsDeterministicUniformAndSeeded) {
  Fixture f;
  auto a = make_baseline("random", f.inputs(2, 1));
  BaselineInputs other = f.inputs(2, 1);
  other.seed = 7;
  auto b = make_baseline("random", other);
  std::vector<uint32_t> users(100), items(100);
  for (uint32_t i = 0; i < 100; ++i) users[i] = items[i] = i;
  std::vector<float> block(100 * 100), again(100 * 100), seeded(100 * 100);
  a->score_block(users.data(), 100, items.data(), 100, block.data());
  a->score_block(users.data(), 100, items.data(), 100, again.data());
  b->score_block(users.data(), 100, items.data(), 100, seeded.data());
  EXPECT_EQ(block, again);
  double sum = 0;
  size_t differ = 0;
  for (size_t p = 0; p < block.size(); ++p) {
    EXPECT_GE(block[p], 0.0f);
    EXPECT_LT(block[p], 1.0f);
    sum += block[p];
    differ += block[p] != seeded[p];
  }
  EXPECT_NEAR(sum / block.size(), 0.5, 0.01);
  EXPECT_GT(differ, 9990u);
  // A single pair and a differently shaped block give the same values.
  const uint32_t u = 37, i = 81;
  float pair = 0;
  a->score_pairs(&u, &i, 1, &pair);
  EXPECT_EQ(pair, block[37 * 100 + 81]);
  std::vector<float> column(3);
  const uint32_t three_users[] = {5, 37, 99};
  a->score_block(three_users, 3, &i, 1, column.data());
  EXPECT_EQ(column[1], pair);
  EXPECT_EQ(column[2], block[99 * 100 + 81]);
}

// A random split large enough that threads share work: 120 users, 70 items (+ 5 cold users).
struct RandomFixture {
  SplitData split;
  UserItemIndex train;
  ContentVectors content;
  RandomFixture() {
    std::vector<std::string> users, items;
    for (int u = 0; u < 120; ++u) users.push_back(std::to_string(u));
    for (int i = 0; i < 70; ++i) items.push_back(std::to_string(i));
    split.user_map = IdMap::from_ids(users);
    split.item_map = IdMap::from_ids(items);
    split.item_in_train.assign(70, 0);
    for (int c = 0; c < 5; ++c) split.cold_user_ids.push_back("c" + std::to_string(c));
    Rng rng = Rng::stream(3, {1});
    for (uint32_t u = 0; u < 120; ++u) {
      const uint32_t n = 1 + uint32_t(rng.below(12));
      for (uint32_t t = 0; t < n; ++t) {
        const uint32_t item = uint32_t(rng.below(60));  // items 60-69 stay cold
        add(split.train, u, item);
        split.item_in_train[item] = 1;
      }
    }
    train = UserItemIndex(split.num_users(), split.train);
    content.num_items = 70;
    content.dim = 13;  // not a multiple of the 8 dot-product lanes
    content.values.resize(70 * 13);
    content.present.assign(70, 1);
    for (auto& v : content.values) v = float(rng.uniform(-1, 1));
    content.present[3] = 0;
    std::fill_n(content.values.begin() + 3 * 13, 13, 0.0f);
  }
  BaselineInputs inputs(int threads, int k = 7) {
    BaselineInputs in;
    in.split = &split;
    in.train = &train;
    in.content = &content;
    in.threads = threads;
    in.knn_neighbors = k;
    in.knn_shrinkage = 2.0;
    return in;
  }
};

// Brute force shrunk cosine between two sorted sets.
double cosine(const uint32_t* a0, const uint32_t* a1, const uint32_t* b0, const uint32_t* b1,
              double shrinkage) {
  std::vector<uint32_t> common;
  std::set_intersection(a0, a1, b0, b1, std::back_inserter(common));
  return double(common.size()) / (std::sqrt(double(a1 - a0) * double(b1 - b0)) + shrinkage);
}

TEST(Baselines, ItemKnnUsesExactlyKNeighboursTheMostSimilarOnes) {
  RandomFixture f;
  for (int k : {1, 7, 100}) {
    ItemKnnScorer scorer(f.train, 70, k, 2.0, 3);
    const NeighbourLists& n = scorer.neighbours();
    const UserItemIndex item_users = transpose(f.train, 70);
    for (uint32_t i = 0; i < 70; ++i) {
      std::vector<std::pair<double, uint32_t>> all;  // (-similarity, index): ascending = best
      for (uint32_t j = 0; j < 70; ++j) {
        if (j == i) continue;
        const double s = cosine(item_users.begin(i), item_users.end(i), item_users.begin(j),
                                item_users.end(j), 2.0);
        if (s > 0) all.push_back({-s, j});
      }
      std::sort(all.begin(), all.end());
      ASSERT_EQ(n.count(i), std::min<size_t>(size_t(k), all.size())) << "item " << i;
      size_t nonzero = 0;
      for (size_t r = 0; r < n.count(i); ++r) {
        EXPECT_NEAR(n.find(i, all[r].second), -all[r].first, 1e-6) << i << "→" << all[r].second;
        nonzero += n.similarity[n.offsets[i] + r] > 0;
      }
      EXPECT_EQ(nonzero, n.count(i));
    }
  }
}

TEST(Baselines, BlocksEqualPairsAndDoNotDependOnThreads) {
  RandomFixture f;
  std::vector<uint32_t> users, items;
  for (uint32_t u = 0; u < f.split.num_users(); u += 2) users.push_back(u);  // cold ones too
  for (uint32_t i = 0; i < 70; i += 1) items.push_back((i * 29) % 70);       // shuffled order
  const size_t n = users.size() * items.size();
  std::vector<uint32_t> pair_users, pair_items;
  for (uint32_t u : users)
    for (uint32_t i : items) {
      pair_users.push_back(u);
      pair_items.push_back(i);
    }
  for (const auto& name : baseline_names()) {
    auto one = make_baseline(name, f.inputs(1));
    auto four = make_baseline(name, f.inputs(4));
    std::vector<float> block1(n), block4(n), pairs1(n), pairs4(n);
    one->score_block(users.data(), users.size(), items.data(), items.size(), block1.data());
    four->score_block(users.data(), users.size(), items.data(), items.size(), block4.data());
    one->score_pairs(pair_users.data(), pair_items.data(), n, pairs1.data());
    four->score_pairs(pair_users.data(), pair_items.data(), n, pairs4.data());
    EXPECT_EQ(block1, block4) << name;
    EXPECT_EQ(block1, pairs1) << name;
    EXPECT_EQ(block1, pairs4) << name;
    size_t nonzero = 0;
    for (float v : block1) nonzero += v != 0.0f;
    EXPECT_GT(nonzero, n / 4) << name;  // the comparison is not between all-zero arrays
  }
}

TEST(Baselines, KnnScoresMatchTheirDefinitionOnARandomSplit) {
  RandomFixture f;
  ItemKnnScorer items(f.train, 70, 7, 2.0, 2);
  UserKnnScorer users(f.train, 70, 7, 2.0, 2);
  for (uint32_t u = 0; u < 120; u += 11)
    for (uint32_t i = 0; i < 70; i += 3) {
      double item_expected = 0, user_expected = 0;
      for (const uint32_t* j = f.train.begin(u); j != f.train.end(u); ++j)
        item_expected += items.neighbours().find(*j, i);
      for (uint32_t v = 0; v < 120; ++v)
        if (f.train.contains(v, i)) user_expected += users.neighbours().find(u, v);
      float got[2];
      items.score_pairs(&u, &i, 1, &got[0]);
      users.score_pairs(&u, &i, 1, &got[1]);
      EXPECT_NEAR(got[0], item_expected, 1e-5);
      EXPECT_NEAR(got[1], user_expected, 1e-5);
    }
}

}  // namespace
}  // namespace pixelrec::eval
