#include "model/user_history.h"

#include <algorithm>
#include <numeric>

#include "core/errors.h"

namespace pixelrec::model {
namespace {

// Room for `bound` pooled items of `pairs` pairs, every pair's total weight 0.
UserHistory::Gathered allocate(int64_t bound, int64_t pairs) {
  return {torch::empty({bound}, torch::kLong), torch::empty({bound}, torch::kLong),
          torch::empty({bound}, torch::kFloat), torch::zeros({pairs}, torch::kFloat)};
}

UserHistory::Gathered narrowed(UserHistory::Gathered g, int64_t n) {
  g.items = g.items.narrow(0, 0, n);
  g.pair = g.pair.narrow(0, 0, n);
  g.weight = g.weight.narrow(0, 0, n);
  return g;
}

}  // namespace

UserHistory::UserHistory(const IndexedInteractions& train, uint32_t num_users, int length,
                         double decay, double base_weight, bool timeline)
    : length_(length), decay_powers_(size_t(std::max(length, 0))), has_timeline_(timeline) {
  PIXELREC_CHECK(decay > 0.0 && decay <= 1.0, "a history decay in (0, 1]");
  PIXELREC_CHECK(base_weight >= 0.0, "a non-negative history base weight");
  double power = 1.0;
  for (float& w : decay_powers_) w = float(power + base_weight), power *= decay;
  // Interactions grouped by user, each group latest first (ties: the later row first).
  std::vector<uint32_t> order(train.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (train.user[a] != train.user[b]) return train.user[a] < train.user[b];
    if (train.timestamp[a] != train.timestamp[b]) return train.timestamp[a] > train.timestamp[b];
    return a > b;
  });
  offsets_.assign(size_t(num_users) + 1, 0);
  if (timeline) {
    row_user_ = train.user;
    timeline_offsets_.assign(size_t(num_users) + 1, 0);
    timeline_items_.resize(order.size());
    place_.resize(order.size());
  }
  size_t k = 0;
  for (uint32_t user = 0; user < num_users; ++user) {
    const size_t first = items_.size();
    for (; k < order.size() && train.user[order[k]] == user; ++k) {
      const int64_t item = train.item[order[k]];
      if (timeline) {
        timeline_items_[k] = item;
        place_[order[k]] = int64_t(k);
      }
      num_items_ = std::max(num_items_, item + 1);
      const auto kept = items_.begin() + int64_t(first);
      if (items_.size() - first < size_t(length) &&
          std::find(kept, items_.end(), item) == items_.end())
        items_.push_back(item);
    }
    offsets_[user + 1] = int64_t(items_.size());
    if (timeline) timeline_offsets_[user + 1] = int64_t(k);
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
  Gathered g = allocate(total, pairs);
  int64_t* item = g.items.data_ptr<int64_t>();
  int64_t* pair = g.pair.data_ptr<int64_t>();
  float* weight = g.weight.data_ptr<float>();
  float* count = g.count.data_ptr<float>();
  int64_t n = 0;
  for (int64_t b = 0; b < pairs; ++b) {
    if (!pooled(b)) continue;
    size_t k = 0;
    for (const int64_t* it = begin(uint32_t(user[b])); it != end(uint32_t(user[b])); ++it) {
      if (left_out && *it == left_out[b]) continue;  // items are distinct: at most one
      item[n] = *it;
      pair[n] = b;
      weight[n] = decay_powers_[k++];
      count[b] += weight[n++];
    }
  }
  return narrowed(std::move(g), n);
}

torch::Tensor UserHistory::users_of_rows(const torch::Tensor& rows) const {
  PIXELREC_CHECK(has_timeline_, "users_of_rows needs a history built with its timeline");
  const torch::Tensor in = rows.to(torch::kCPU).contiguous();
  torch::Tensor out = torch::empty({in.size(0)}, torch::kLong);
  const int64_t* row = in.data_ptr<int64_t>();
  int64_t* user = out.data_ptr<int64_t>();
  for (int64_t k = 0; k < in.size(0); ++k) {
    PIXELREC_CHECK(row[k] >= 0 && row[k] < int64_t(row_user_.size()), "a training row");
    user[k] = int64_t(row_user_[size_t(row[k])]);
  }
  return out;
}

UserHistory::Gathered UserHistory::gather_preceding(const torch::Tensor& users,
                                                    const torch::Tensor& no_history,
                                                    const torch::Tensor& rows) const {
  const int64_t pairs = users.size(0);
  PIXELREC_CHECK(has_timeline_, "gather_preceding needs a history built with its timeline");
  PIXELREC_CHECK(rows.size(0) == pairs, "one training row per pair");
  const int64_t* user = users.data_ptr<int64_t>();
  const bool* skip = no_history.data_ptr<bool>();
  const int64_t* row = rows.data_ptr<int64_t>();
  const auto pooled = [&](int64_t b) { return !skip[b] && user[b] >= 0 && user[b] < num_users(); };
  int64_t bound = 0;  // at most L, and at most the user's earlier rows, per pair
  for (int64_t b = 0; b < pairs; ++b) {
    if (!pooled(b)) continue;
    PIXELREC_CHECK(
        row[b] >= 0 && row[b] < int64_t(place_.size()) && row_user_[size_t(row[b])] == user[b],
        "a pair's history row must be a training row of its user");
    const int64_t earlier = timeline_offsets_[size_t(user[b]) + 1] - place_[size_t(row[b])] - 1;
    bound += std::min<int64_t>(length_, earlier);
  }
  Gathered g = allocate(bound, pairs);
  int64_t* item = g.items.data_ptr<int64_t>();
  int64_t* pair = g.pair.data_ptr<int64_t>();
  float* weight = g.weight.data_ptr<float>();
  float* count = g.count.data_ptr<float>();
  // seen[i] == b: item i is already pooled for pair b (one buffer per call, not per pair).
  std::vector<int64_t> seen(size_t(num_items_), -1);
  int64_t n = 0;
  for (int64_t b = 0; b < pairs; ++b) {
    if (!pooled(b)) continue;
    const int64_t r = row[b];
    const int64_t own = timeline_items_[size_t(place_[size_t(r)])];
    seen[size_t(own)] = b;
    const int64_t last = timeline_offsets_[size_t(user[b]) + 1];
    int taken = 0;
    for (int64_t k = place_[size_t(r)] + 1; k < last && taken < length_; ++k) {
      const int64_t it = timeline_items_[size_t(k)];
      if (seen[size_t(it)] == b) continue;
      seen[size_t(it)] = b;
      item[n] = it;
      pair[n] = b;
      weight[n] = decay_powers_[size_t(taken++)];
      count[b] += weight[n++];
    }
  }
  return narrowed(std::move(g), n);
}

}  // namespace pixelrec::model
