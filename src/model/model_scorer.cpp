#include "model/model_scorer.h"

#include <algorithm>

namespace pixelrec::model {

torch::Tensor index_tensor(const uint32_t* values, size_t count) {
  torch::Tensor t = torch::empty({int64_t(count)}, torch::kLong);
  std::copy(values, values + count, t.data_ptr<int64_t>());
  return t;
}

ModelScorer::ModelScorer(Recommender& model, const ItemFeatures& features, bool final_activation,
                         int64_t pair_batch)
    : model_(model),
      features_(features),
      final_activation_(final_activation),
      pair_batch_(pair_batch) {}

torch::Tensor ModelScorer::scores_of(const torch::Tensor& logits) const {
  if (!final_activation_) return logits;
  const std::string& a = model_.spec().config.final_activation;
  if (a == "sigmoid") return torch::sigmoid(logits);
  if (a == "tanh") return torch::tanh(logits);
  return logits;
}

const torch::Tensor& ModelScorer::item_parts() {
  if (item_parts_.defined()) return item_parts_;
  std::vector<torch::Tensor> chunks;
  constexpr int64_t kChunk = 4096;
  for (int64_t begin = 0; begin < features_.count; begin += kChunk) {
    const int64_t n = std::min(kChunk, features_.count - begin);
    const torch::Tensor items =
        torch::arange(begin, begin + n, torch::kLong) + features_.first_item;
    chunks.push_back(model_.network()->item_part(model_.item_side(items, features_)));
  }
  item_parts_ = torch::cat(chunks);
  return item_parts_;
}

void ModelScorer::score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                              size_t num_items, float* out) {
  torch::NoGradGuard no_grad;
  model_.train(false);
  const torch::Tensor user_index = index_tensor(users, num_users);
  const torch::Tensor item_index = index_tensor(items, num_items);
  const int64_t nu = int64_t(num_users);
  const int64_t chunk = std::max<int64_t>(1, pair_batch_ / std::max<int64_t>(1, nu));
  const torch::Tensor result = torch::from_blob(out, {nu, int64_t(num_items)});
  if (model_.network()->factorized()) {
    const torch::Tensor user_part = model_.network()->user_part(model_.user_tokens(user_index));
    const torch::Tensor& parts = item_parts();
    for (int64_t begin = 0; begin < int64_t(num_items); begin += chunk) {
      const int64_t n = std::min(chunk, int64_t(num_items) - begin);
      const torch::Tensor item_part =
          parts.index_select(0, item_index.narrow(0, begin, n) - features_.first_item);
      const torch::Tensor first =
          (user_part.unsqueeze(1) + item_part.unsqueeze(0)).reshape({nu * n, user_part.size(1)});
      result.narrow(1, begin, n)
          .copy_(scores_of(model_.network()->head_from_first(first)).reshape({nu, n}));
    }
    return;
  }
  for (int64_t begin = 0; begin < int64_t(num_items); begin += chunk) {
    const int64_t n = std::min(chunk, int64_t(num_items) - begin);
    const torch::Tensor pair_users = user_index.repeat_interleave(n);
    const torch::Tensor pair_items = item_index.narrow(0, begin, n).repeat({nu});
    result.narrow(1, begin, n)
        .copy_(scores_of(model_.forward(pair_users, pair_items, features_)).reshape({nu, n}));
  }
}

void ModelScorer::score_pairs(const uint32_t* users, const uint32_t* items, size_t count,
                              float* out) {
  torch::NoGradGuard no_grad;
  model_.train(false);
  for (size_t begin = 0; begin < count; begin += size_t(pair_batch_)) {
    const size_t n = std::min(size_t(pair_batch_), count - begin);
    const torch::Tensor u = index_tensor(users + begin, n);
    const torch::Tensor i = index_tensor(items + begin, n);
    torch::Tensor logits;
    if (model_.network()->factorized()) {
      // The user part once per distinct user of the batch (sampled candidates repeat users).
      const auto [distinct, inverse] = torch::_unique(u, /*sorted=*/true, /*return_inverse=*/true);
      const torch::Tensor user_part =
          model_.network()->user_part(model_.user_tokens(distinct)).index_select(0, inverse);
      logits = model_.network()->head_from_first(
          user_part + item_parts().index_select(0, i - features_.first_item));
    } else {
      logits = model_.forward(u, i, features_);
    }
    std::copy_n(scores_of(logits).contiguous().data_ptr<float>(), n, out + begin);
  }
}

}  // namespace pixelrec::model
