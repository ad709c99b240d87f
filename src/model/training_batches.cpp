#include "model/training_batches.h"

#include <numeric>

#include "core/rng.h"

namespace pixelrec::model {

EpochBatches::EpochBatches(std::vector<uint32_t> users, std::vector<uint32_t> items,
                           const NegativeSampler& sampler, double ratio, uint64_t seed, int rank,
                           int threads)
    : users_(std::move(users)),
      items_(std::move(items)),
      sampler_(sampler),
      ratio_(ratio),
      seed_(seed),
      rank_(rank),
      threads_(threads) {}

void EpochBatches::start_epoch(int epoch) {
  order_.resize(users_.size());
  std::iota(order_.begin(), order_.end(), 0u);
  Rng rng = Rng::stream(seed_, {0x5348554646ull /* "SHUFF" */, uint64_t(epoch), uint64_t(rank_)});
  rng.shuffle(order_);
  order_users_.resize(order_.size());
  for (size_t p = 0; p < order_.size(); ++p) order_users_[p] = users_[order_[p]];
  sampler_.sample_into(order_users_.data(), order_users_.size(), ratio_, seed_, uint64_t(epoch),
                       uint64_t(rank_), threads_, draw_);
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
  const int64_t n = int64_t((end - begin) + (neg_end - neg_begin));
  Batch b;
  b.positives = int64_t(end - begin);
  b.users = torch::empty({n}, torch::kLong);
  b.items = torch::empty({n}, torch::kLong);
  b.labels = torch::zeros({n}, torch::kFloat);
  int64_t* u = b.users.data_ptr<int64_t>();
  int64_t* it = b.items.data_ptr<int64_t>();
  size_t k = 0;
  for (size_t p = begin; p < end; ++p, ++k) {
    u[k] = order_users_[p];
    it[k] = items_[order_[p]];
  }
  for (size_t q = neg_begin; q < neg_end; ++q, ++k) {
    u[k] = draw_.user[q];
    it[k] = draw_.item[q];
  }
  b.labels.narrow(0, 0, b.positives).fill_(1.0f);
  return b;
}

}  // namespace pixelrec::model
