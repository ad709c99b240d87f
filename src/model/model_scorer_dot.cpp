// ModelScorer for model.scorer dot: full ranking as one blocked matrix product. The item tower
// runs once per item of the features (the shard's under item-sharded evaluation) and is cached;
// each score_block call runs the user tower on its users and multiplies [users, D] × [D, items]
// straight into the caller's buffer. The evaluator then masks and keeps each user's top K.
#include <algorithm>

#include "model/model_scorer.h"

namespace pixelrec::model {

torch::Tensor ModelScorer::activated_(torch::Tensor scores) const {
  if (!final_activation_) return scores;
  const std::string& a = model_.spec().config.final_activation;
  if (a == "sigmoid") return scores.sigmoid_();
  if (a == "tanh") return scores.tanh_();
  return scores;
}

const torch::Tensor& ModelScorer::item_vectors() {
  if (item_vectors_.defined()) return item_vectors_;
  torch::NoGradGuard no_grad;
  model_.train(false);
  std::vector<torch::Tensor> chunks;
  constexpr int64_t kChunk = 4096;
  const auto index = torch::TensorOptions(torch::kLong).device(model_.device());
  for (int64_t begin = 0; begin < features_.count; begin += kChunk) {
    const int64_t n = std::min(kChunk, features_.count - begin);
    const torch::Tensor items = torch::arange(begin, begin + n, index) + features_.first_item;
    chunks.push_back(model_.network()->item_vectors(model_.item_side(items, features_)));
  }
  // Divided by the temperature once here, so a block is the bare product.
  item_vectors_ = torch::cat(chunks).div_(model_.network()->dot_temperature());
  return item_vectors_;
}

void ModelScorer::score_block_dot(const uint32_t* users, size_t num_users, const uint32_t* items,
                                  size_t num_items, float* out) {
  if (num_users == 0 || num_items == 0) return;
  torch::NoGradGuard no_grad;
  model_.train(false);
  const torch::Tensor& all = item_vectors();
  const torch::Tensor user_vectors = model_.network()->user_vectors(
      model_.user_tokens(index_tensor(users, num_users).to(model_.device())));
  // The evaluator asks for runs of consecutive items (a shard's catalogue): no gather then.
  const int64_t first = int64_t(items[0]) - features_.first_item;
  const bool consecutive =
      num_items > 0 && size_t(items[num_items - 1] - items[0]) + 1 == num_items;
  const torch::Tensor item_rows =
      consecutive ? all.narrow(0, first, int64_t(num_items))
                  : all.index_select(0, index_tensor(items, num_items).to(model_.device()) -
                                            features_.first_item);
  const auto shape = std::vector<int64_t>{int64_t(num_users), int64_t(num_items)};
  if (model_.device().is_cpu()) {
    torch::Tensor result = torch::from_blob(out, shape);
    torch::mm_out(result, user_vectors, item_rows.t());
    activated_(result);
    return;
  }
  const torch::Tensor scores = activated_(torch::mm(user_vectors, item_rows.t())).to(torch::kCPU);
  std::copy_n(scores.contiguous().data_ptr<float>(), num_users * num_items, out);
}

void ModelScorer::score_pairs_dot(const uint32_t* users, const uint32_t* items, size_t count,
                                  float* out) {
  if (count == 0) return;
  torch::NoGradGuard no_grad;
  model_.train(false);
  const torch::Tensor& all = item_vectors();
  const torch::Tensor all_users = index_tensor(users, count).to(model_.device());
  const torch::Tensor all_items =
      index_tensor(items, count).to(model_.device()) - features_.first_item;
  const auto [distinct, inverse] =
      torch::_unique(all_users, /*sorted=*/true, /*return_inverse=*/true);
  const torch::Tensor user_vectors = model_.network()->user_vectors(model_.user_tokens(distinct));
  const torch::Tensor scores =
      activated_((user_vectors.index_select(0, inverse) * all.index_select(0, all_items)).sum(1))
          .to(torch::kCPU)
          .contiguous();
  std::copy_n(scores.data_ptr<float>(), count, out);
}

}  // namespace pixelrec::model
