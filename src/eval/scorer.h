// What every recommender offers to evaluation and recommendation: scores for (user, item) pairs,
// higher meaning more relevant. Users and items are SplitData indices (cold users have indices
// >= num_train_users). Implemented by the baselines (eval/baselines*) and by the trained
// multimodal model (model/, loaded from a checkpoint).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pixelrec::eval {

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
};

}  // namespace pixelrec::eval
