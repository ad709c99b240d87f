// Per-epoch training negatives: for each positive (user, item) draw items the user has not
// interacted with in training, uniformly or weighted by popularity, deterministically in
// (seed, epoch, rank) and independently of the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/rng.h"
#include "data/split_data.h"

namespace pixelrec {

enum class NegativeStrategy { kRandom, kPopularity, kPopularityInverse };

// "random" | "popularity" | "popularity_inverse"; ConfigError naming
// data.negative_sampling_strategy.
NegativeStrategy parse_negative_strategy(std::string_view name);

// Units of shard_weights: weights count eighths of a training pair.
inline constexpr int64_t kShardWeightsPerPair = 8;

// The expected training pairs of each item in one epoch, in eighths of a pair: its positives
// (item_counts[i], the training interactions) plus ratio × all positives × the probability that
// a negative is item i, as the sampler weighs `candidates` (per-user exclusions ignored). Item
// shards balanced on these weights give every rank about the same number of pairs; balanced on
// positives alone, uniform negatives overload the ranks holding many unpopular items.
std::vector<int64_t> shard_weights(NegativeStrategy strategy,
                                   const std::vector<uint32_t>& candidates,
                                   const std::vector<int64_t>& item_counts, double ratio);

struct NegativeDraw {
  std::vector<uint32_t> user, item;  // one entry per negative, ordered by positive index
  std::vector<uint32_t> positive;    // index of the positive each negative belongs to
  size_t skipped = 0;  // negatives that could not be drawn (user excluded every candidate)
  size_t size() const { return item.size(); }

  // Scratch of sample_into, kept so that later epochs reuse it.
  struct ChunkTally {
    size_t drawn = 0, skipped = 0;
  };
  std::vector<ChunkTally> chunk_tallies;
};

class NegativeSampler {
 public:
  // Positives per chunk: each chunk draws from its own stream, so results do not depend on how
  // chunks are spread over threads.
  static constexpr size_t kChunkSize = 4096;
  // Rejected draws (item excluded for the user) before switching to the exact fallback.
  static constexpr int kMaxRejections = 64;

  // candidates: items negatives come from (the trainer passes the training items, or one rank's
  // shard of them; sorted and de-duplicated here, items of weight 0 dropped); item_counts:
  // training interactions per item index (weights for popularity: count, popularity_inverse:
  // 1 / max(count, 1), random: uniform); exclude: every item of each user in training (never
  // drawn as that user's negative; copied). Throws Error when no candidate has a weight > 0.
  NegativeSampler(NegativeStrategy strategy, std::vector<uint32_t> candidates,
                  const std::vector<int64_t>& item_counts, const UserItemIndex& exclude);

  // For each positive p (user users[p]) draws floor(ratio) negatives plus one more with
  // probability frac(ratio). Deterministic in (seed, epoch, rank) and independent of `threads`.
  // Throws ConfigError naming data.negative_sampling_ratio unless 0 <= ratio <= 1000.
  NegativeDraw sample(const uint32_t* users, size_t count, double ratio, uint64_t seed,
                      uint64_t epoch, uint64_t rank, int threads) const;
  // Draws into caller-owned buffers (reused across epochs, no allocation once sized).
  void sample_into(const uint32_t* users, size_t count, double ratio, uint64_t seed, uint64_t epoch,
                   uint64_t rank, int threads, NegativeDraw& out) const;

  NegativeStrategy strategy() const { return strategy_; }
  const std::vector<uint32_t>& candidates() const { return candidates_; }
  // Probability of drawing candidates()[k] for a user who excludes none of them.
  double probability(size_t k) const;

 private:
  // One negative for `user`: alias-table draws rejected against the user's items, then the
  // exact fallback. False when the user excludes every candidate.
  bool draw(uint32_t user, Rng& rng, uint32_t& item) const;
  // Draws by weight among the candidates the user does not exclude, in O(items of user · log C).
  bool draw_fallback(uint32_t user, Rng& rng, uint32_t& item) const;
  template <class Visit>
  void for_each_allowed_range(uint32_t user, Visit&& visit) const;

  NegativeStrategy strategy_;
  std::vector<uint32_t> candidates_;  // sorted, unique, weight > 0
  std::vector<double> cumulative_;    // cumulative_[k] = weight of candidates before k
  // Walker/Vose alias table over the candidates (unused for kRandom: uniform draws).
  std::vector<double> alias_probability_;
  std::vector<uint32_t> alias_;
  UserItemIndex exclude_;
};

}  // namespace pixelrec
