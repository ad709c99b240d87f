#include "model/user_history.h"

#include <algorithm>
#include <numeric>

namespace pixelrec::model {

UserHistory::UserHistory(const IndexedInteractions& train, uint32_t num_users, int length) {
  // Interactions grouped by user, each group latest first (ties: the later row first).
  std::vector<uint32_t> order(train.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (train.user[a] != train.user[b]) return train.user[a] < train.user[b];
    if (train.timestamp[a] != train.timestamp[b]) return train.timestamp[a] > train.timestamp[b];
    return a > b;
  });
  offsets_.assign(size_t(num_users) + 1, 0);
  size_t k = 0;
  for (uint32_t user = 0; user < num_users; ++user) {
    const size_t first = items_.size();
    for (; k < order.size() && train.user[order[k]] == user; ++k) {
      const int64_t item = train.item[order[k]];
      const auto kept = items_.begin() + int64_t(first);
      if (items_.size() - first < size_t(length) &&
          std::find(kept, items_.end(), item) == items_.end())
        items_.push_back(item);
    }
    offsets_[user + 1] = int64_t(items_.size());
  }
}

torch::Tensor UserHistory::distinct_items() const {
  std::vector<int64_t> items = items_;
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return torch::tensor(items, torch::kLong);
}

UserHistory::Gathered UserHistory::gather(const torch::Tensor& users,
                                          const torch::Tensor& no_history,
                                          const torch::Tensor& exclude) const {
  const int64_t pairs = users.size(0);
  const int64_t* user = users.data_ptr<int64_t>();
  const bool* skip = no_history.data_ptr<bool>();
  const int64_t* left_out = exclude.defined() ? exclude.data_ptr<int64_t>() : nullptr;
  const auto pooled = [&](int64_t b) { return !skip[b] && user[b] >= 0 && user[b] < num_users(); };
  int64_t total = 0;
  for (int64_t b = 0; b < pairs; ++b)
    if (pooled(b)) total += offsets_[size_t(user[b]) + 1] - offsets_[size_t(user[b])];
  Gathered g{torch::empty({total}, torch::kLong), torch::empty({total}, torch::kLong),
             torch::zeros({pairs}, torch::kFloat)};
  int64_t* item = g.items.data_ptr<int64_t>();
  int64_t* pair = g.pair.data_ptr<int64_t>();
  float* count = g.count.data_ptr<float>();
  int64_t n = 0;
  for (int64_t b = 0; b < pairs; ++b) {
    if (!pooled(b)) continue;
    for (const int64_t* it = begin(uint32_t(user[b])); it != end(uint32_t(user[b])); ++it) {
      if (left_out && *it == left_out[b]) continue;  // items are distinct: at most one
      item[n] = *it;
      pair[n++] = b;
      count[b] += 1;
    }
  }
  g.items = g.items.narrow(0, 0, n);
  g.pair = g.pair.narrow(0, 0, n);
  return g;
}

}  // namespace pixelrec::model
