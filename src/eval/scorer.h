// What every recommender offers to evaluation and recommendation: scores for (user, item) pairs,
// higher meaning more relevant. Users and items are SplitData indices (cold users have indices
// >= num_train_users). Implemented by the baselines (eval/baselines*) and by the trained
// multimodal model (model/, loaded from a checkpoint).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace pixelrec::eval {

// A contiguous range [begin, end) of item indices.
struct ItemShard {
  uint32_t begin = 0, end = 0;
};

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual std::string name() const = 0;

  // Dense block: out[u * num_items + j] = score(users[u], items[j]). Used by full ranking, so it
  // should be batched (work shared per user and per item), not a loop over score_pairs.
  virtual void score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                           size_t num_items, float* out) = 0;

  // Pairs: out[p] = score(users[p], items[p]) for p < count. Used by sampled evaluation.
  virtual void score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                           float* out) = 0;

  // nullopt (the default): this scorer scores every item. A shard: it holds only the items
  // [begin, end) (e.g. one rank's share of the model's item features), and score_block and
  // score_pairs are then only ever called with items in that range. With N processes the ranks'
  // shards must partition [0, num_items) in rank order (rank 0 starts at 0, each rank starts
  // where the previous one ends, empty shards allowed); evaluate() checks this on every rank and
  // still returns the exact one-process result. A score must depend only on its (user, item)
  // pair, never on which other pairs share the call.
  virtual std::optional<ItemShard> item_shard() const { return std::nullopt; }
};

}  // namespace pixelrec::eval
