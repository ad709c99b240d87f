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
      // A GPU needs large launches; a CPU core is fastest on cache-resident chunks.
      pair_batch_(model.device().is_cuda() ? std::max<int64_t>(pair_batch, int64_t(1) << 20)
                                           : pair_batch) {}

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
        torch::arange(begin, begin + n,
                      torch::TensorOptions(torch::kLong).device(model_.device())) +
        features_.first_item;
    chunks.push_back(model_.network()->item_part(model_.item_side(items, features_)));
  }
  // Eval-mode BatchNorm of the first layer folded in: item part * scale + (bias * scale + shift).
  folded_ = model_.network()->fold_head();
  item_parts_ = torch::cat(chunks).mul_(folded_.first_scale).add_(folded_.first_shift);
  return item_parts_;
}

void ModelScorer::score_block(const uint32_t* users, size_t num_users, const uint32_t* items,
                              size_t num_items, float* out) {
  if (model_.network()->dot()) return score_block_dot(users, num_users, items, num_items, out);
  torch::NoGradGuard no_grad;
  model_.train(false);
  const torch::Tensor user_index = index_tensor(users, num_users).to(model_.device());
  const torch::Tensor item_index = index_tensor(items, num_items).to(model_.device());
  const int64_t nu = int64_t(num_users);
  const int64_t chunk = std::max<int64_t>(1, pair_batch_ / std::max<int64_t>(1, nu));
  const torch::Tensor result = torch::from_blob(out, {nu, int64_t(num_items)});
  if (model_.network()->factorized()) {
    const torch::Tensor& parts = item_parts();
    const torch::Tensor user_part =
        model_.network()->user_part(model_.user_tokens(user_index)).mul_(folded_.first_scale);
    for (int64_t begin = 0; begin < int64_t(num_items); begin += chunk) {
      const int64_t n = std::min(chunk, int64_t(num_items) - begin);
      const torch::Tensor item_part =
          parts.index_select(0, item_index.narrow(0, begin, n) - features_.first_item);
      torch::Tensor first =
          (user_part.unsqueeze(1) + item_part.unsqueeze(0)).reshape({nu * n, user_part.size(1)});
      auto& network = *model_.network();
      result.narrow(1, begin, n)
          .copy_(scores_of(network.folded_head_rest(folded_, network.activate_(first)))
                     .reshape({nu, n}));
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
  if (model_.network()->dot()) return score_pairs_dot(users, items, count, out);
  torch::NoGradGuard no_grad;
  model_.train(false);
  const torch::Tensor all_users = index_tensor(users, count).to(model_.device());
  const torch::Tensor all_items =
      index_tensor(items, count).to(model_.device()) - features_.first_item;
  torch::Tensor user_parts, user_rows;  // factorized: the user part once per distinct user
  if (model_.network()->factorized()) {
    const auto [distinct, inverse] =
        torch::_unique(all_users, /*sorted=*/true, /*return_inverse=*/true);
    item_parts();  // folds the head on first use
    user_parts =
        model_.network()->user_part(model_.user_tokens(distinct)).mul_(folded_.first_scale);
    user_rows = inverse;
  }
  // Small chunks keep the head's activations cache-resident (measured: 512 pairs per chunk is
  // ~1.6x faster than 65,536; docs/benchmarks.md).
  for (size_t begin = 0; begin < count; begin += size_t(pair_batch_)) {
    const int64_t n = int64_t(std::min(size_t(pair_batch_), count - begin));
    torch::Tensor logits;
    if (user_parts.defined()) {
      torch::Tensor first = user_parts.index_select(0, user_rows.narrow(0, int64_t(begin), n)) +
                            item_parts().index_select(0, all_items.narrow(0, int64_t(begin), n));
      auto& network = *model_.network();
      logits = network.folded_head_rest(folded_, network.activate_(first));
    } else {
      logits =
          model_.forward(all_users.narrow(0, int64_t(begin), n),
                         all_items.narrow(0, int64_t(begin), n) + features_.first_item, features_);
    }
    std::copy_n(scores_of(logits).to(torch::kCPU).contiguous().data_ptr<float>(), n, out + begin);
  }
}

}  // namespace pixelrec::model
