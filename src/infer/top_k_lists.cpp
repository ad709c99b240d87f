#include "infer/top_k_lists.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/errors.h"
#include "core/parallel.h"

namespace pixelrec::infer {

namespace {

constexpr size_t kUsersPerBatch = 64;  // rows of one score_block call (64 × catalogue floats)

void validate(const RecommendOptions& options, const SplitData& split,
              const eval::ContentVectors* content) {
  if (options.top_k < 1)
    throw UsageError("--top-k (recommendation.top_k) is " + std::to_string(options.top_k) +
                     "; a list needs at least one item: pass --top-k 1 or more");
  if (!options.use_diversity) return;
  for (const auto& [key, value] : {std::pair{"diversity_weight", options.diversity_weight},
                                   std::pair{"novelty_weight", options.novelty_weight}})
    if (!(value >= 0.0 && value <= 1.0))
      throw ConfigError("recommendation." + std::string(key) + " is " + std::to_string(value) +
                        "; MMR mixes objectives with it, so it must lie in [0, 1]");
  if (options.max_candidates < options.top_k)
    throw ConfigError("recommendation.max_candidates (" + std::to_string(options.max_candidates) +
                      ") is below the list length " + std::to_string(options.top_k) +
                      "; MMR picks the list from those candidates: raise it to at least top_k");
  if (content == nullptr)
    throw Error(
        "--use-diversity needs item content vectors from the feature store; run "
        "`pixelrec cache` (with an image or text extractor), or drop --use-diversity");
  if (content->num_items != split.num_items())
    throw Error("the feature store holds " + std::to_string(content->num_items) +
                " items but the split has " + std::to_string(split.num_items()) +
                "; the store is out of date: run `pixelrec cache --force-recompute`");
}

// Min-max normalisation to [0, 1]; all zeros when the values are all equal.
std::vector<double> min_max(std::vector<double> values) {
  if (values.empty()) return values;
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  const double min = *lo, range = *hi - *lo;
  for (double& v : values) v = range > 0 ? (v - min) / range : 0.0;
  return values;
}

struct Target {
  uint32_t index = 0;  // the user's index, or split.num_users() for an unknown id
  bool use_model = false;
};

std::vector<Target> resolve_users(const SplitData& split, const std::vector<std::string>& ids) {
  std::unordered_map<std::string_view, uint32_t> cold;
  for (size_t k = 0; k < split.cold_user_ids.size(); ++k)
    cold.emplace(split.cold_user_ids[k], uint32_t(split.num_train_users() + k));
  std::vector<Target> targets;
  targets.reserve(ids.size());
  for (const std::string& id : ids) {
    if (const auto known = split.user_map.find(id)) {
      targets.push_back({*known, true});
    } else {
      const auto it = cold.find(id);
      targets.push_back({it != cold.end() ? it->second : split.num_users(), false});
    }
  }
  return targets;
}

}  // namespace

std::vector<double> item_self_information(const SplitData& split) {
  const std::vector<int64_t> counts = split.train_item_counts();
  double total = double(counts.size());
  for (int64_t c : counts) total += double(c);
  std::vector<double> info(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) info[i] = -std::log2((double(counts[i]) + 1) / total);
  return info;
}

std::vector<size_t> mmr_rerank(const std::vector<uint32_t>& candidates,
                               const std::vector<float>& scores,
                               const std::vector<double>& item_self_information,
                               const eval::ContentVectors& content, size_t k,
                               double diversity_weight, double novelty_weight) {
  const size_t m = candidates.size();
  k = std::min(k, m);
  const std::vector<double> relevance = min_max(std::vector<double>(scores.begin(), scores.end()));
  std::vector<double> novelty(m);
  for (size_t c = 0; c < m; ++c) novelty[c] = item_self_information[candidates[c]];
  novelty = min_max(std::move(novelty));

  std::vector<double> base(m), max_similarity(m, 0.0);
  for (size_t c = 0; c < m; ++c)
    base[c] = (1 - diversity_weight) *
              ((1 - novelty_weight) * relevance[c] + novelty_weight * novelty[c]);
  std::vector<uint8_t> picked(m, 0);
  std::vector<size_t> order;
  order.reserve(k);
  while (order.size() < k) {
    size_t best = m;
    double best_value = 0;
    for (size_t c = 0; c < m; ++c) {
      if (picked[c]) continue;
      const double value = base[c] - diversity_weight * max_similarity[c];
      if (best == m || value > best_value) best = c, best_value = value;
    }
    picked[best] = 1;
    order.push_back(best);
    if (diversity_weight == 0) continue;  // similarities cannot change the choice
    for (size_t c = 0; c < m; ++c)
      if (!picked[c])
        max_similarity[c] =
            std::max(max_similarity[c], double(content.cosine(candidates[c], candidates[best])));
  }
  return order;
}

std::vector<UserRecommendations> recommend(eval::Scorer& model, eval::Scorer& fallback,
                                           const SplitData& split, const UserItemIndex& seen,
                                           const eval::ContentVectors* content,
                                           const std::vector<std::string>& titles,
                                           const std::vector<std::string>& user_ids,
                                           const RecommendOptions& options,
                                           eval::Scorer* reranker) {
  validate(options, split, content);
  if (reranker && options.retrieve < options.top_k)
    throw UsageError("--retrieve " + std::to_string(options.retrieve) +
                     " is below the list length " + std::to_string(options.top_k) +
                     "; the re-ranker orders the retrieved items: retrieve at least --top-k");
  const uint32_t num_items = split.num_items();
  PIXELREC_CHECK(titles.empty() || titles.size() == num_items,
                 "titles must be empty or hold one entry per item");
  const std::vector<Target> targets = resolve_users(split, user_ids);
  const std::vector<double> self_information =
      options.use_diversity ? item_self_information(split) : std::vector<double>();
  const size_t keep = size_t(options.use_diversity ? options.max_candidates : options.top_k);
  const std::string fallback_source = fallback.name() + "_fallback";
  std::vector<uint32_t> all_items(num_items);
  for (uint32_t i = 0; i < num_items; ++i) all_items[i] = i;

  std::vector<UserRecommendations> out(targets.size());
  std::vector<float> scores(kUsersPerBatch * size_t(num_items));
  // Per batch row: the candidates (best first) and, re-ranked, the re-ranker's scores of them.
  std::vector<std::vector<uint32_t>> candidates_of(kUsersPerBatch);
  std::vector<std::vector<float>> reranked_of(kUsersPerBatch);
  // The users of one scorer in one batch: their positions in `targets` and their indices.
  std::vector<size_t> positions;
  std::vector<uint32_t> indices;
  bool reranking = false;

  // The row's unseen items, the best `keep` of them, best first.
  auto retrieve_user = [&](size_t row, size_t) {
    const uint32_t user = indices[row];
    const float* s = scores.data() + row * num_items;
    std::vector<uint32_t>& candidates = candidates_of[row];
    candidates.clear();
    const bool filter = options.filter_seen && user < seen.num_users();
    const uint32_t* known = filter ? seen.begin(user) : nullptr;
    const uint32_t* known_end = filter ? seen.end(user) : nullptr;
    for (uint32_t i = 0; i < num_items; ++i) {
      while (known != known_end && *known < i) ++known;  // both ascending: a merge, no search
      if ((known != known_end && *known == i) || std::isnan(s[i])) continue;
      candidates.push_back(i);
    }
    const auto better = [s](uint32_t a, uint32_t b) { return s[a] != s[b] ? s[a] > s[b] : a < b; };
    const size_t n = std::min(reranking ? size_t(options.retrieve) : keep, candidates.size());
    std::partial_sort(candidates.begin(), candidates.begin() + n, candidates.end(), better);
    candidates.resize(n);
  };

  // Orders each row's retrieved items by the re-ranker (one score_pairs call for the batch).
  auto rerank_batch = [&] {
    std::vector<uint32_t> pair_users, pair_items;
    for (size_t row = 0; row < positions.size(); ++row)
      for (uint32_t item : candidates_of[row]) {
        pair_users.push_back(indices[row]);
        pair_items.push_back(item);
      }
    std::vector<float> pair_scores(pair_items.size());
    reranker->score_pairs(pair_users.data(), pair_items.data(), pair_items.size(),
                          pair_scores.data());
    size_t at = 0;
    for (size_t row = 0; row < positions.size(); ++row) {
      std::vector<uint32_t>& candidates = candidates_of[row];
      const size_t n = candidates.size();
      std::vector<size_t> order(n);
      for (size_t c = 0; c < n; ++c) order[c] = c;
      const float* r = pair_scores.data() + at;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return r[a] != r[b] ? r[a] > r[b] : candidates[a] < candidates[b];
      });
      std::vector<uint32_t> sorted(n);
      std::vector<float>& reranked = reranked_of[row];
      reranked.resize(n);
      for (size_t c = 0; c < n; ++c) sorted[c] = candidates[order[c]], reranked[c] = r[order[c]];
      candidates = std::move(sorted);
      at += n;
    }
  };

  auto rank_user = [&](size_t row, size_t) {
    const size_t position = positions[row];
    const float* s = scores.data() + row * num_items;
    std::vector<uint32_t>& candidates = candidates_of[row];
    // The scores the list reports: the re-ranker's when it ordered the candidates.
    std::vector<float> candidate_scores(candidates.size());
    for (size_t c = 0; c < candidates.size(); ++c)
      candidate_scores[c] = reranking ? reranked_of[row][c] : s[candidates[c]];
    if (reranking && !options.use_diversity && candidates.size() > size_t(options.top_k)) {
      candidates.resize(size_t(options.top_k));
      candidate_scores.resize(candidates.size());
    }
    const size_t n = candidates.size();
    std::vector<size_t> picks;
    if (options.use_diversity) {
      picks = mmr_rerank(candidates, candidate_scores, self_information, *content,
                         size_t(options.top_k), options.diversity_weight, options.novelty_weight);
    } else {
      for (size_t c = 0; c < n; ++c) picks.push_back(c);
    }
    UserRecommendations& result = out[position];
    result.user_id = user_ids[position];
    result.source = targets[position].use_model ? "model" : fallback_source;
    result.items.reserve(picks.size());
    for (size_t r = 0; r < picks.size(); ++r) {
      const uint32_t item = candidates[picks[r]];
      result.items.push_back({int(r + 1), item, split.item_map.id(item),
                              titles.empty() ? std::string() : titles[item],
                              double(candidate_scores[picks[r]])});
    }
  };

  for (size_t begin = 0; begin < targets.size(); begin += kUsersPerBatch) {
    const size_t end = std::min(targets.size(), begin + kUsersPerBatch);
    for (const bool use_model : {true, false}) {
      positions.clear();
      indices.clear();
      for (size_t p = begin; p < end; ++p)
        if (targets[p].use_model == use_model) {
          positions.push_back(p);
          indices.push_back(targets[p].index);
        }
      if (positions.empty()) continue;
      eval::Scorer& scorer = use_model ? model : fallback;
      scorer.score_block(indices.data(), indices.size(), all_items.data(), num_items,
                         scores.data());
      reranking = use_model && reranker != nullptr;
      parallel_for(positions.size(), options.threads, retrieve_user);
      if (reranking) rerank_batch();
      parallel_for(positions.size(), options.threads, rank_user);
    }
  }
  return out;
}

}  // namespace pixelrec::infer
