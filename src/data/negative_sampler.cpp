#include "data/negative_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/errors.h"
#include "core/parallel.h"

namespace pixelrec {
namespace {

constexpr uint64_t kNegativeStream = 0x4E45474154495645ull;  // "NEGATIVE": the stream's purpose
constexpr double kMaxRatio = 1000;  // data.negative_sampling_ratio's documented range

double item_weight(NegativeStrategy strategy, int64_t count) {
  switch (strategy) {
    case NegativeStrategy::kRandom:
      return 1;
    case NegativeStrategy::kPopularity:
      return double(count);
    case NegativeStrategy::kPopularityInverse:
      return 1.0 / double(std::max<int64_t>(count, 1));
  }
  return 1;
}

// Walker/Vose alias table: draw i uniformly, keep it with probability[i], else take alias[i].
void build_alias_table(const std::vector<double>& weights, double total,
                       std::vector<double>& probability, std::vector<uint32_t>& alias) {
  const size_t n = weights.size();
  probability.assign(n, 1.0);
  alias.resize(n);
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    alias[i] = uint32_t(i);
    scaled[i] = weights[i] * double(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(uint32_t(i));
  }
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back(), l = large.back();
    small.pop_back();
    large.pop_back();
    probability[s] = scaled[s];
    alias[s] = l;
    scaled[l] = (scaled[l] + scaled[s]) - 1.0;
    (scaled[l] < 1.0 ? small : large).push_back(l);
  }
  // Entries left on either list are 1 up to rounding: keep them (probability stays 1).
}

}  // namespace

NegativeStrategy parse_negative_strategy(std::string_view name) {
  if (name == "random") return NegativeStrategy::kRandom;
  if (name == "popularity") return NegativeStrategy::kPopularity;
  if (name == "popularity_inverse") return NegativeStrategy::kPopularityInverse;
  throw ConfigError("data.negative_sampling_strategy = '" + std::string(name) +
                    "' is not a negative sampling strategy: use random, popularity or "
                    "popularity_inverse");
}

std::vector<int64_t> shard_weights(NegativeStrategy strategy,
                                   const std::vector<uint32_t>& candidates,
                                   const std::vector<int64_t>& item_counts, double ratio) {
  double positives = 0, total_weight = 0;
  for (const int64_t c : item_counts) positives += double(c);
  for (const uint32_t item : candidates)
    total_weight += item_weight(strategy, item_counts.at(item));
  std::vector<double> pairs(item_counts.begin(), item_counts.end());
  if (total_weight > 0)
    for (const uint32_t item : candidates)
      pairs[item] += ratio * positives * item_weight(strategy, item_counts[item]) / total_weight;
  std::vector<int64_t> weights(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i)
    weights[i] = std::llround(pairs[i] * double(kShardWeightsPerPair));
  return weights;
}

NegativeSampler::NegativeSampler(NegativeStrategy strategy, std::vector<uint32_t> candidates,
                                 const std::vector<int64_t>& item_counts,
                                 const UserItemIndex& exclude)
    : strategy_(strategy), exclude_(exclude) {
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::vector<double> weights;
  weights.reserve(candidates.size());
  candidates_.reserve(candidates.size());
  for (uint32_t item : candidates) {
    PIXELREC_CHECK(strategy == NegativeStrategy::kRandom || item < item_counts.size(),
                   "candidate item " + std::to_string(item) + " has no count (" +
                       std::to_string(item_counts.size()) + " counts)");
    const int64_t count = strategy == NegativeStrategy::kRandom ? 1 : item_counts[item];
    PIXELREC_CHECK(count >= 0, "negative interaction count for item " + std::to_string(item));
    const double weight = item_weight(strategy, count);
    if (weight <= 0) continue;  // never drawn: popularity of an item without interactions
    candidates_.push_back(item);
    weights.push_back(weight);
  }
  if (candidates_.empty() && !candidates.empty())
    throw Error(
        "no candidate item for negative sampling has training interactions, so "
        "popularity weights are all 0; use data.negative_sampling_strategy: random");
  PIXELREC_CHECK(candidates_.size() < std::numeric_limits<uint32_t>::max(), "too many candidates");
  cumulative_.resize(candidates_.size() + 1);
  cumulative_[0] = 0;
  for (size_t k = 0; k < weights.size(); ++k) cumulative_[k + 1] = cumulative_[k] + weights[k];
  if (strategy != NegativeStrategy::kRandom && !candidates_.empty())
    build_alias_table(weights, cumulative_.back(), alias_probability_, alias_);
}

double NegativeSampler::probability(size_t k) const {
  return (cumulative_[k + 1] - cumulative_[k]) / cumulative_.back();
}

template <class Visit>
void NegativeSampler::for_each_allowed_range(uint32_t user, Visit&& visit) const {
  // Both lists are sorted: each excluded item is searched after the previous one's position.
  size_t start = 0;
  auto position = candidates_.begin();
  for (const uint32_t* it = exclude_.begin(user); it != exclude_.end(user); ++it) {
    position = std::lower_bound(position, candidates_.end(), *it);
    if (position == candidates_.end()) break;
    if (*position != *it) continue;
    const size_t hole = size_t(position - candidates_.begin());
    if (hole > start && !visit(start, hole)) return;
    start = hole + 1;
  }
  if (candidates_.size() > start) visit(start, candidates_.size());
}

bool NegativeSampler::draw_fallback(uint32_t user, Rng& rng, uint32_t& item) const {
  double remaining = 0;
  for_each_allowed_range(user, [&](size_t begin, size_t end) {
    remaining += cumulative_[end] - cumulative_[begin];
    return true;
  });
  if (!(remaining > 0)) return false;
  double r = rng.uniform() * remaining;
  size_t last_end = 0;
  bool found = false;
  for_each_allowed_range(user, [&](size_t begin, size_t end) {
    const double mass = cumulative_[end] - cumulative_[begin];
    last_end = end;
    if (r >= mass) {
      r -= mass;
      return true;
    }
    // The candidate k in [begin, end) with cumulative_[k] <= x < cumulative_[k + 1].
    const double x = cumulative_[begin] + r;
    const auto first = cumulative_.begin() + std::ptrdiff_t(begin) + 1;
    const auto last = cumulative_.begin() + std::ptrdiff_t(end) + 1;
    const size_t k = size_t(std::upper_bound(first, last, x) - cumulative_.begin()) - 1;
    item = candidates_[std::min(k, end - 1)];
    found = true;
    return false;
  });
  if (!found) item = candidates_[last_end - 1];  // rounding carried r past the last range
  return true;
}

bool NegativeSampler::draw(uint32_t user, Rng& rng, uint32_t& item) const {
  const size_t n = candidates_.size();
  if (n == 0) return false;
  for (int attempt = 0; attempt < kMaxRejections; ++attempt) {
    size_t k = size_t(rng.below(n));
    if (strategy_ != NegativeStrategy::kRandom && rng.uniform() >= alias_probability_[k])
      k = alias_[k];
    item = candidates_[k];
    if (!exclude_.contains(user, item)) return true;
  }
  return draw_fallback(user, rng, item);
}

NegativeDraw NegativeSampler::sample(const uint32_t* users, size_t count, double ratio,
                                     uint64_t seed, uint64_t epoch, uint64_t rank,
                                     int threads) const {
  NegativeDraw out;
  sample_into(users, count, ratio, seed, epoch, rank, threads, out);
  return out;
}

void NegativeSampler::sample_into(const uint32_t* users, size_t count, double ratio, uint64_t seed,
                                  uint64_t epoch, uint64_t rank, int threads,
                                  NegativeDraw& out) const {
  if (!std::isfinite(ratio) || ratio < 0 || ratio > kMaxRatio)
    throw ConfigError("data.negative_sampling_ratio = " + std::to_string(ratio) +
                      " is out of range: use a number of negatives per positive in [0, 1000]");
  PIXELREC_CHECK(count < std::numeric_limits<uint32_t>::max(),
                 std::to_string(count) + " positives do not fit 32-bit positive indices");
  const double whole = std::floor(ratio);
  const double fraction = ratio - whole;
  const size_t per_positive = size_t(whole);
  const size_t most_per_positive = per_positive + (fraction > 0 ? 1 : 0);
  const size_t chunks = (count + kChunkSize - 1) / kChunkSize;

  // Each chunk writes at a fixed offset sized for its most negatives, then chunks are packed.
  const size_t capacity = count * most_per_positive;
  out.user.resize(capacity);
  out.item.resize(capacity);
  out.positive.resize(capacity);
  out.chunk_tallies.assign(chunks, {});
  parallel_for(chunks, threads, [&](size_t chunk) {
    Rng rng = Rng::stream(seed, {kNegativeStream, epoch, rank, uint64_t(chunk)});
    const size_t begin = chunk * kChunkSize, end = std::min(count, begin + kChunkSize);
    size_t write = begin * most_per_positive;
    NegativeDraw::ChunkTally tally;
    for (size_t p = begin; p < end; ++p) {
      const uint32_t user = users[p];
      PIXELREC_CHECK(user < exclude_.num_users(),
                     "positive " + std::to_string(p) + " has user " + std::to_string(user) +
                         " outside the exclusion index (" + std::to_string(exclude_.num_users()) +
                         " users)");
      const size_t wanted = per_positive + (fraction > 0 && rng.bernoulli(fraction) ? 1 : 0);
      for (size_t j = 0; j < wanted; ++j) {
        uint32_t item;
        if (!draw(user, rng, item)) {
          ++tally.skipped;
          continue;
        }
        out.user[write] = user;
        out.item[write] = item;
        out.positive[write] = uint32_t(p);
        ++write;
        ++tally.drawn;
      }
    }
    out.chunk_tallies[chunk] = tally;
  });

  size_t packed = 0;
  out.skipped = 0;
  for (size_t chunk = 0; chunk < chunks; ++chunk) {
    const size_t from = chunk * kChunkSize * most_per_positive;
    const size_t n = out.chunk_tallies[chunk].drawn;
    if (from != packed && n > 0) {
      std::memmove(out.user.data() + packed, out.user.data() + from, n * sizeof(uint32_t));
      std::memmove(out.item.data() + packed, out.item.data() + from, n * sizeof(uint32_t));
      std::memmove(out.positive.data() + packed, out.positive.data() + from, n * sizeof(uint32_t));
    }
    packed += n;
    out.skipped += out.chunk_tallies[chunk].skipped;
  }
  out.user.resize(packed);
  out.item.resize(packed);
  out.positive.resize(packed);
}

}  // namespace pixelrec
