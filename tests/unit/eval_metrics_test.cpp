// Accuracy and beyond-accuracy metrics on hand-worked cases, the tie rule, and property tests
// against brute-force references written from the definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "core/rng.h"
#include "eval/beyond_accuracy.h"
#include "eval/eval_internal.h"
#include "eval/metrics.h"
#include "eval/tie_order.h"

namespace pixelrec::eval {
namespace {

double value(const AccuracyCalculator& calc, const std::vector<double>& out,
             const std::string& name) {
  const auto& names = calc.names();
  const auto it = std::find(names.begin(), names.end(), name);
  EXPECT_NE(it, names.end()) << name;
  return out[size_t(it - names.begin())];
}

TEST(AccuracyMetrics, NamesAreMetricMajorThenAscendingK) {
  const AccuracyCalculator calc({5, 10});
  EXPECT_EQ(calc.names(),
            (std::vector<std::string>{"precision@5", "precision@10", "recall@5", "recall@10",
                                      "f1@5", "f1@10", "hit_rate@5", "hit_rate@10", "ndcg@5",
                                      "ndcg@10", "map@5", "map@10", "mrr"}));
}

TEST(AccuracyMetrics, HandWorkedListWithThreeRelevantItems) {
  // Hits at ranks 2 and 5; relevant item 20 is not in the top 5.
  const AccuracyCalculator calc({1, 3, 5});
  const std::vector<uint32_t> top{10, 3, 7, 4, 9};
  const std::vector<uint32_t> relevant{3, 9, 20};
  std::vector<double> out(calc.num_values());
  calc.compute(top.data(), relevant.data(), relevant.size(), 1, out.data());
  for (const char* name : {"precision@1", "recall@1", "f1@1", "hit_rate@1", "ndcg@1", "map@1"})
    EXPECT_EQ(value(calc, out, name), 0.0) << name;
  EXPECT_NEAR(value(calc, out, "precision@3"), 1.0 / 3, 1e-12);
  EXPECT_NEAR(value(calc, out, "recall@3"), 1.0 / 3, 1e-12);
  EXPECT_NEAR(value(calc, out, "f1@3"), 1.0 / 3, 1e-12);
  EXPECT_EQ(value(calc, out, "hit_rate@3"), 1.0);
  // DCG = 1/log2(3) = 0.6309298; ideal over 3 = 1 + 0.6309298 + 0.5 = 2.1309298.
  EXPECT_NEAR(value(calc, out, "ndcg@3"), 0.2960819, 1e-7);
  EXPECT_NEAR(value(calc, out, "map@3"), 0.5 / 3, 1e-12);
  EXPECT_NEAR(value(calc, out, "precision@5"), 0.4, 1e-12);
  EXPECT_NEAR(value(calc, out, "recall@5"), 2.0 / 3, 1e-12);
  EXPECT_NEAR(value(calc, out, "f1@5"), 0.5, 1e-12);
  // DCG = 0.6309298 + 1/log2(6) = 1.0177826.
  EXPECT_NEAR(value(calc, out, "ndcg@5"), 0.4776237, 1e-7);
  EXPECT_NEAR(value(calc, out, "map@5"), (0.5 + 0.4) / 3, 1e-12);
  EXPECT_EQ(value(calc, out, "mrr"), 0.5);
}

TEST(AccuracyMetrics, KLargerThanRelevantSetUsesMinForIdealAndMap) {
  const AccuracyCalculator calc({5});
  const std::vector<uint32_t> top{4, 1, 2, 3, 0};
  const std::vector<uint32_t> relevant{4};
  std::vector<double> out(calc.num_values());
  calc.compute(top.data(), relevant.data(), 1, 0, out.data());
  EXPECT_DOUBLE_EQ(value(calc, out, "precision@5"), 0.2);
  EXPECT_DOUBLE_EQ(value(calc, out, "recall@5"), 1.0);
  EXPECT_DOUBLE_EQ(value(calc, out, "ndcg@5"), 1.0);
  EXPECT_DOUBLE_EQ(value(calc, out, "map@5"), 1.0);
  EXPECT_DOUBLE_EQ(value(calc, out, "f1@5"), 2 * 0.2 / 1.2);
}

TEST(AccuracyMetrics, AllRelevantFirstIsPerfectAndMrrSeesBeyondTheTopList) {
  const AccuracyCalculator calc({2, 4});
  const std::vector<uint32_t> top{7, 8, 1, 2};
  const std::vector<uint32_t> relevant{7, 8};
  std::vector<double> out(calc.num_values());
  calc.compute(top.data(), relevant.data(), 2, 0, out.data());
  EXPECT_DOUBLE_EQ(value(calc, out, "ndcg@2"), 1.0);
  EXPECT_DOUBLE_EQ(value(calc, out, "ndcg@4"), 1.0);
  EXPECT_DOUBLE_EQ(value(calc, out, "map@4"), 1.0);
  EXPECT_DOUBLE_EQ(value(calc, out, "precision@4"), 0.5);
  // No hit in the top list; the best relevant item has 30 candidates ahead of it.
  const std::vector<uint32_t> miss{1, 2, 3, 4};
  calc.compute(miss.data(), relevant.data(), 2, 30, out.data());
  EXPECT_EQ(value(calc, out, "hit_rate@4"), 0.0);
  EXPECT_DOUBLE_EQ(value(calc, out, "mrr"), 1.0 / 31);
}

// `items` in user 5's tie order under seed 42 (the order of equal scores).
std::vector<uint32_t> in_tie_order(std::vector<uint32_t> items) {
  std::sort(items.begin(), items.end(),
            [](uint32_t a, uint32_t b) { return tie_key(42, 5, a) < tie_key(42, 5, b); });
  return items;
}

TEST(Ranking, TiesFollowTheUsersTieKeyAndExcludedItemsNeverRank) {
  const internal::RankOrder order(42, 5);
  // Items 0..5; item 1 is excluded (training); items 0, 2, 3 tie at 1.0.
  const std::vector<float> scores{1.0f, 9.0f, 1.0f, 1.0f, 0.5f, 2.0f};
  const std::vector<uint32_t> excluded{1};
  std::vector<internal::ScoredItem> scratch;
  std::vector<uint32_t> top(3);
  std::vector<float> top_scores(3);
  const std::vector<uint32_t> tied = in_tie_order({0, 2, 3});
  // Best relevant: item 3 (score 1.0): ahead of it are 5 (higher) and the tied items before it.
  const size_t ahead = internal::rank_candidates(
      scores.data(), nullptr, scores.size(), excluded.data(), excluded.data() + 1, order,
      internal::ScoredItem{1.0f, 3}, 3, scratch, top.data(), top_scores.data());
  EXPECT_EQ(ahead, 1u + size_t(std::find(tied.begin(), tied.end(), 3u) - tied.begin()));
  EXPECT_EQ(top, (std::vector<uint32_t>{5, tied[0], tied[1]}));
  EXPECT_EQ(top_scores, (std::vector<float>{2.0f, 1.0f, 1.0f}));
  // Explicit item columns (sampled / cold): the tie rule keys items, not columns.
  const std::vector<uint32_t> items{40, 12, 30};
  const std::vector<float> zeros{0.0f, 0.0f, 0.0f};
  const std::vector<uint32_t> tied_items = in_tie_order(items);
  const size_t rank_of_30 = internal::rank_candidates(
      zeros.data(), items.data(), 3, nullptr, nullptr, order, internal::ScoredItem{0.0f, 30}, 2,
      scratch, top.data(), top_scores.data());
  EXPECT_EQ(rank_of_30,
            size_t(std::find(tied_items.begin(), tied_items.end(), 30u) - tied_items.begin()));
  EXPECT_EQ(top[0], tied_items[0]);
  EXPECT_EQ(top[1], tied_items[1]);
  // Ascending item columns with exclusions (cold_item's masked items): 12 never ranks.
  const std::vector<uint32_t> ascending{12, 30, 40}, masked{7, 12};
  const std::vector<float> ordered{5.0f, 1.0f, 2.0f};
  internal::rank_candidates(ordered.data(), ascending.data(), 3, masked.data(),
                            masked.data() + masked.size(), order, internal::ScoredItem{1.0f, 30}, 2,
                            scratch, top.data(), top_scores.data());
  EXPECT_EQ(top[0], 40u);
  EXPECT_EQ(top[1], 30u);
  // The "no item" sentinel ranks after every item of its score.
  constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
  const internal::ScoredItem none{kMinusInf, internal::kNoItem}, real{kMinusInf, 4};
  EXPECT_TRUE(order(real, none));
  EXPECT_FALSE(order(none, real));
  EXPECT_FALSE(order(none, none));
}

// Brute-force reference: full sort, definitions applied literally.
std::map<std::string, double> reference_metrics(const std::vector<uint32_t>& ranking,
                                                const std::set<uint32_t>& relevant,
                                                const std::vector<int>& ks) {
  std::map<std::string, double> m;
  const auto is_rel = [&](uint32_t item) { return relevant.count(item) > 0; };
  for (int k : ks) {
    const std::string s = "@" + std::to_string(k);
    const double hits = double(std::count_if(ranking.begin(), ranking.begin() + k, is_rel));
    const double p = hits / k, r = hits / double(relevant.size());
    m["precision" + s] = p;
    m["recall" + s] = r;
    m["f1" + s] = (p + r) == 0 ? 0 : 2 * p * r / (p + r);
    m["hit_rate" + s] = hits > 0;
    double dcg = 0, idcg = 0, ap = 0;
    for (int i = 1; i <= k; ++i) {
      if (is_rel(ranking[size_t(i - 1)])) {
        dcg += 1 / std::log2(i + 1.0);
        ap += double(std::count_if(ranking.begin(), ranking.begin() + i, is_rel)) / i;
      }
      if (i <= int(relevant.size())) idcg += 1 / std::log2(i + 1.0);
    }
    m["ndcg" + s] = dcg / idcg;
    m["map" + s] = ap / std::min<double>(double(relevant.size()), k);
  }
  const auto first = std::find_if(ranking.begin(), ranking.end(), is_rel);
  m["mrr"] = 1.0 / double(first - ranking.begin() + 1);
  return m;
}

TEST(AccuracyMetrics, MatchBruteForceOnRandomRankings) {
  const std::vector<int> ks{1, 3, 7, 10};
  const AccuracyCalculator calc(ks);
  for (uint64_t trial = 0; trial < 300; ++trial) {
    Rng rng = Rng::stream(7, {trial});
    const uint32_t n = 10 + uint32_t(rng.below(30));
    std::vector<uint32_t> ranking(n);
    for (uint32_t i = 0; i < n; ++i) ranking[i] = i * 3 + 1;
    rng.shuffle(ranking);
    std::set<uint32_t> relevant;
    const size_t num_relevant = 1 + rng.below(std::min<uint32_t>(12, n));
    while (relevant.size() < num_relevant) relevant.insert(ranking[rng.below(n)]);
    const std::vector<uint32_t> rel(relevant.begin(), relevant.end());
    size_t best = 0;
    while (!relevant.count(ranking[best])) ++best;
    std::vector<double> out(calc.num_values());
    calc.compute(ranking.data(), rel.data(), rel.size(), best, out.data());
    const auto expected = reference_metrics(ranking, relevant, ks);
    for (size_t i = 0; i < calc.num_values(); ++i)
      ASSERT_NEAR(out[i], expected.at(calc.names()[i]), 1e-12)
          << calc.names()[i] << " trial " << trial;
  }
}

ContentVectors hand_vectors() {
  ContentVectors c;
  c.num_items = 4;
  c.dim = 2;
  c.values = {1, 0, 0, 1, 0.6f, 0.8f, 0, 0};  // item 3 has no content
  c.present = {1, 1, 1, 0};
  return c;
}

TEST(BeyondAccuracy, HandWorkedLists) {
  const std::vector<uint32_t> items{0, 1, 0, 2, 0, 1};  // lists A=[0,1] B=[0,2] C=[0,1]
  const TopLists lists{items.data(), 3, 2};
  const std::vector<uint32_t> catalogue{0, 1, 2, 3};
  const auto exposure = exposure_counts(lists, 2, 4);
  EXPECT_EQ(exposure, (std::vector<int64_t>{3, 2, 1, 0}));
  EXPECT_DOUBLE_EQ(catalogue_coverage(exposure, catalogue), 0.75);
  EXPECT_NEAR(exposure_gini(exposure, catalogue), 10.0 / 24.0, 1e-15);
  // Pair overlaps: A-B 1/2, A-C 1, B-C 1/2 → mean 2/3.
  EXPECT_NEAR(personalization(exposure, 3, 2), 1.0 / 3, 1e-15);
  // p = (count+1)/(4+4): item0 1/2 → 1 bit, item1 1/4 → 2 bits, item2 1/8 → 3 bits.
  EXPECT_NEAR(novelty(lists, 2, {3, 1, 0, 0}), (1.5 + 2.0 + 1.5) / 3, 1e-12);
  // cos(0,1) = 0, cos(0,2) = 0.6 → diversities 1, 0.4, 1.
  EXPECT_NEAR(intra_list_diversity(lists, 2, hand_vectors(), 1), 0.8, 1e-7);
  // The first K of wider lists: K=1 uses items 0, 0, 0.
  const auto top1 = exposure_counts(lists, 1, 4);
  EXPECT_EQ(top1, (std::vector<int64_t>{3, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(catalogue_coverage(top1, catalogue), 0.25);
  EXPECT_NEAR(exposure_gini(top1, catalogue), 3.0 / 4.0, 1e-15);  // (n-1)/n: one item only
  EXPECT_DOUBLE_EQ(personalization(top1, 3, 1), 0.0);
  // Coverage and Gini over a restricted catalogue (cold items 2, 3).
  EXPECT_DOUBLE_EQ(catalogue_coverage(exposure, {2, 3}), 0.5);
  EXPECT_DOUBLE_EQ(exposure_gini({0, 0, 5, 5}, {2, 3}), 0.0);
}

TEST(BeyondAccuracy, MatchBruteForceOnRandomListsAndDoNotDependOnThreads) {
  const uint32_t num_items = 40;
  const int k = 5, dim = 6;
  ContentVectors content;
  content.num_items = num_items;
  content.dim = dim;
  Rng rng = Rng::stream(11, {});
  for (uint32_t i = 0; i < num_items; ++i) {
    std::vector<double> v(dim);
    double norm = 0;
    for (auto& x : v) {
      x = rng.normal();
      norm += x * x;
    }
    for (double x : v) content.values.push_back(float(x / std::sqrt(norm)));
    content.present.push_back(1);
  }
  const size_t num_lists = 50;
  std::vector<uint32_t> items;
  std::vector<std::set<uint32_t>> sets(num_lists);
  for (size_t u = 0; u < num_lists; ++u) {
    std::vector<uint32_t> pool(12);  // a 12-item pool shared by all lists: heavy overlap
    for (uint32_t i = 0; i < 12; ++i) pool[i] = i * 3;
    rng.shuffle(pool);
    for (int j = 0; j < k; ++j) {
      items.push_back(pool[size_t(j)]);
      sets[u].insert(items.back());
    }
  }
  const TopLists lists{items.data(), num_lists, size_t(k)};
  const auto exposure = exposure_counts(lists, k, num_items);
  double overlap = 0;
  for (size_t a = 0; a < num_lists; ++a)
    for (size_t b = a + 1; b < num_lists; ++b) {
      std::vector<uint32_t> common;
      std::set_intersection(sets[a].begin(), sets[a].end(), sets[b].begin(), sets[b].end(),
                            std::back_inserter(common));
      overlap += double(common.size()) / k;
    }
  const double pairs = double(num_lists) * (num_lists - 1) / 2;
  EXPECT_NEAR(personalization(exposure, num_lists, k), 1 - overlap / pairs, 1e-12);
  // Gini as the mean absolute difference over all pairs / (2 × mean).
  std::vector<uint32_t> catalogue(num_items);
  for (uint32_t i = 0; i < num_items; ++i) catalogue[i] = i;
  double abs_diff = 0, total = 0;
  for (uint32_t i = 0; i < num_items; ++i) {
    total += double(exposure[i]);
    for (uint32_t j = 0; j < num_items; ++j)
      abs_diff += std::fabs(double(exposure[i] - exposure[j]));
  }
  EXPECT_NEAR(exposure_gini(exposure, catalogue), abs_diff / (2.0 * num_items * total), 1e-12);
  std::set<uint32_t> shown;
  for (const auto& s : sets) shown.insert(s.begin(), s.end());
  EXPECT_DOUBLE_EQ(catalogue_coverage(exposure, catalogue), double(shown.size()) / num_items);
  // Diversity: explicit pairwise cosines.
  double diversity = 0;
  for (size_t u = 0; u < num_lists; ++u) {
    double cosines = 0;
    for (int a = 0; a < k; ++a)
      for (int b = a + 1; b < k; ++b) {
        double dot = 0;
        for (int d = 0; d < dim; ++d)
          dot += double(content.row(lists.list(u)[a])[d]) * content.row(lists.list(u)[b])[d];
        cosines += dot;
      }
    diversity += 1 - cosines / (k * (k - 1) / 2.0);
  }
  const double one_thread = intra_list_diversity(lists, k, content, 1);
  EXPECT_NEAR(one_thread, diversity / num_lists, 1e-6);
  EXPECT_EQ(one_thread, intra_list_diversity(lists, k, content, 4));
}

}  // namespace
}  // namespace pixelrec::eval
