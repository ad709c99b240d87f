#include "model/sharded_scorer.h"

#include <algorithm>

namespace pixelrec::model {

ShardedScorer::ShardedScorer(Recommender& model, const ItemFeatures& shard,
                             dist::Communicator& comm)
    : local_(model, shard), comm_(comm), first_(shard.first_item), count_(shard.count) {}

void ShardedScorer::score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                                float* out) {
  users_.clear();
  items_.clear();
  positions_.clear();
  for (size_t p = 0; p < count; ++p)
    if (owns(items[p])) {
      users_.push_back(users[p]);
      items_.push_back(items[p]);
      positions_.push_back(p);
    }
  scores_.resize(positions_.size());
  if (!positions_.empty())
    local_.score_pairs(users_.data(), items_.data(), positions_.size(), scores_.data());
  std::fill_n(out, count, 0.0f);
  for (size_t k = 0; k < positions_.size(); ++k) out[positions_[k]] = scores_[k];
  comm_.allreduce_sum(out, count);
}

void ShardedScorer::score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                                size_t num_items, float* out) {
  items_.clear();
  positions_.clear();
  for (size_t j = 0; j < num_items; ++j)
    if (owns(items[j])) {
      items_.push_back(items[j]);
      positions_.push_back(j);
    }
  scores_.resize(num_users * items_.size());
  if (!items_.empty())
    local_.score_block(users, num_users, items_.data(), items_.size(), scores_.data());
  std::fill_n(out, num_users * num_items, 0.0f);
  for (size_t u = 0; u < num_users; ++u)
    for (size_t k = 0; k < positions_.size(); ++k)
      out[u * num_items + positions_[k]] = scores_[u * items_.size() + k];
  comm_.allreduce_sum(out, num_users * num_items);
}

}  // namespace pixelrec::model
