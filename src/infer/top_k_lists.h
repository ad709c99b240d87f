// Top-K recommendation lists for `pixelrec recommend` (SPEC §10): full-catalogue scoring with
// seen-item filtering, an optional MMR re-ranking that trades relevance for diversity and
// novelty, and a fallback scorer for users the model knows nothing about.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/split_data.h"
#include "eval/content_vectors.h"
#include "eval/scorer.h"

namespace pixelrec::infer {

struct RecommendOptions {
  int top_k = 10;
  bool filter_seen = true;        // drop the user's known items (train ∪ val ∪ test)
  bool use_diversity = false;     // MMR re-ranking
  double diversity_weight = 0.3;  // λ_d in [0, 1]
  double novelty_weight = 0.2;    // λ_n in [0, 1]; only the MMR objective uses it
  int max_candidates = 1000;      // MMR re-ranks this many top-scored items (>= top_k)
  // With a re-ranker: the model retrieves this many top-scored items (>= top_k), the re-ranker
  // scores them and its order (and scores) make the list.
  int retrieve = 100;
  int threads = 1;
};

struct Recommendation {
  int rank = 0;  // 1-based
  uint32_t item = 0;
  std::string item_id, title;
  double score = 0;  // the scorer's score (MMR changes the order, not the scores)
};

struct UserRecommendations {
  std::string user_id;
  std::string source;  // "model" | "<fallback name>_fallback", e.g. "popularity_fallback"
  std::vector<Recommendation> items;
};

// One list per entry of `user_ids`, in the same order. Unknown ids and users without training
// history (cold users of val/test) are scored by `fallback`; a cold user's known val/test items
// are still filtered, an unknown user is scored as user index split.num_users() (no data).
// `seen` = known items per user index. Ties in score go to the lower item index. `titles` is
// empty or has one entry per item. Throws UsageError for top_k < 1, weights outside [0, 1] or
// max_candidates < top_k with MMR, and Error when MMR is asked for without content vectors.
// `reranker` (optional): the model's top options.retrieve items of each model-scored user are
// re-scored by it (score_pairs) and ordered by its scores, ties to the lower item index; MMR then
// picks from them. UsageError when retrieve < top_k.
std::vector<UserRecommendations> recommend(eval::Scorer& model, eval::Scorer& fallback,
                                           const SplitData& split, const UserItemIndex& seen,
                                           const eval::ContentVectors* content,
                                           const std::vector<std::string>& titles,
                                           const std::vector<std::string>& user_ids,
                                           const RecommendOptions& options,
                                           eval::Scorer* reranker = nullptr);

// MMR over candidates sorted by descending score: returns the positions (into `candidates`) of
// up to k picks, in pick order. rel = min-max normalised score; nov = min-max normalised
// -log2((train_count + 1) / (train_total + num_items)); each step picks the argmax of
// (1 - λ_d)((1 - λ_n) rel + λ_n nov) - λ_d max cosine to the items already picked, ties to the
// earlier candidate.
std::vector<size_t> mmr_rerank(const std::vector<uint32_t>& candidates,
                               const std::vector<float>& scores,
                               const std::vector<double>& item_self_information,
                               const eval::ContentVectors& content, size_t k,
                               double diversity_weight, double novelty_weight);

// -log2 of each item's Laplace-smoothed share of training interactions.
std::vector<double> item_self_information(const SplitData& split);

}  // namespace pixelrec::infer
