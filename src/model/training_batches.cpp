#include "model/training_batches.h"

#include <numeric>

#include "core/rng.h"

namespace pixelrec::model {

EpochBatches::EpochBatches(std::vector<uint32_t> users, std::vector<uint32_t> items,
                           const NegativeSampler& sampler, double ratio, uint64_t seed,
                           features::ItemRange shard, int threads)
    : users_(std::move(users)),
      items_(std::move(items)),
      sampler_(sampler),
      ratio_(ratio),
      seed_(seed),
      shard_(shard),
      threads_(threads) {}

size_t EpochBatches::shard_positives() const {
  size_t n = 0;
  for (uint32_t item : items_) n += shard_.contains(item);
  return n;
}

void EpochBatches::start_epoch(int epoch) {
  order_.resize(users_.size());
  std::iota(order_.begin(), order_.end(), 0u);
  Rng rng = Rng::stream(seed_, {0x5348554646ull /* "SHUFF" */, uint64_t(epoch)});
  rng.shuffle(order_);
  order_users_.resize(order_.size());
  for (size_t p = 0; p < order_.size(); ++p) order_users_[p] = users_[order_[p]];
  // The same draw on every rank (rank key 0): negatives do not depend on the world size.
  sampler_.sample_into(order_users_.data(), order_users_.size(), ratio_, seed_, uint64_t(epoch),
                       /*rank=*/0, threads_, draw_);
  // Negatives come grouped by positive: offsets let a batch take its positives' negatives.
  negative_begin_.assign(order_.size() + 1, 0);
  for (uint32_t p : draw_.positive) ++negative_begin_[p + 1];
  std::partial_sum(negative_begin_.begin(), negative_begin_.end(), negative_begin_.begin());
}

int64_t EpochBatches::count(int64_t batch_size) const {
  return (int64_t(users_.size()) + batch_size - 1) / batch_size;
}

Batch EpochBatches::batch(int64_t index, int64_t batch_size) const {
  const size_t begin = size_t(index * batch_size);
  const size_t end = std::min(users_.size(), begin + size_t(batch_size));
  const size_t neg_begin = negative_begin_[begin], neg_end = negative_begin_[end];
  const size_t global = (end - begin) + (neg_end - neg_begin);
  Batch b;
  b.global_pairs = int64_t(global);
  b.global_positives = int64_t(end - begin);
  b.global_items = torch::empty({int64_t(global)}, torch::kLong);
  b.global_owner = torch::empty({int64_t(global)}, torch::kLong);
  int64_t* global_item = b.global_items.data_ptr<int64_t>();
  int64_t* owner = b.global_owner.data_ptr<int64_t>();
  b.users = torch::empty({int64_t(global)}, torch::kLong);
  b.items = torch::empty({int64_t(global)}, torch::kLong);
  b.labels = torch::empty({int64_t(global)}, torch::kFloat);
  b.positions = torch::empty({int64_t(global)}, torch::kLong);
  b.positive_rows = torch::empty({int64_t(global)}, torch::kLong);
  int64_t* position = b.positions.data_ptr<int64_t>();
  int64_t* positive_row = b.positive_rows.data_ptr<int64_t>();
  int64_t* u = b.users.data_ptr<int64_t>();
  int64_t* it = b.items.data_ptr<int64_t>();
  float* label = b.labels.data_ptr<float>();
  int64_t k = 0, place = 0;
  const auto keep = [&](uint32_t user, uint32_t item, float y, int64_t positive) {
    const int64_t at = place++;
    global_item[at] = item, owner[at] = positive;
    if (!shard_.contains(item)) return;
    u[k] = user, it[k] = item, label[k] = y, position[k] = at;
    positive_row[k] = order_[size_t(positive) + begin];
    ++k;
  };
  for (size_t p = begin; p < end; ++p)
    keep(order_users_[p], items_[order_[p]], 1.0f, int64_t(p - begin));
  for (size_t q = neg_begin; q < neg_end; ++q)
    keep(draw_.user[q], draw_.item[q], 0.0f, int64_t(draw_.positive[q] - begin));
  b.users = b.users.narrow(0, 0, k);
  b.items = b.items.narrow(0, 0, k);
  b.labels = b.labels.narrow(0, 0, k);
  b.positions = b.positions.narrow(0, 0, k);
  b.positive_rows = b.positive_rows.narrow(0, 0, k);
  return b;
}

}  // namespace pixelrec::model
