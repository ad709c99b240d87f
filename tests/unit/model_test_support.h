// Small hand-built models and item features for the model unit tests.
#pragma once

#include <torch/torch.h>

#include <string>

#include "model/recommender.h"

namespace pixelrec::model::model_test {

inline NetworkSpec tiny_spec(const std::string& fusion, bool batch_norm = true,
                             bool contrastive = true) {
  NetworkSpec spec;
  spec.config.embedding_dim = 8;
  spec.config.fusion_type = fusion;
  spec.config.fusion_hidden_dims = {16, 8};
  spec.config.num_attention_heads = 2;
  spec.config.use_batch_norm = batch_norm;
  spec.config.use_contrastive = contrastive;
  spec.config.dropout_rate = 0.0;
  spec.config.attention_dropout = 0.0;
  spec.use_tags = true;
  spec.content = {{"image", 6}, {"text", 5}, {"numeric", 3}};
  return spec;
}

inline RecommenderShape tiny_shape() { return {10, 12, 3}; }

// 12 items; items 10 and 11 are cold; item 3 has no image, item 4 no text, item 5 no tag.
inline ItemFeatures tiny_features() {
  ItemFeatures f;
  f.first_item = 0;
  f.count = 12;
  f.tag = torch::tensor({0, 1, 2, 0, 1, 3, 2, 0, 1, 2, 0, 1}, torch::kLong);
  f.in_train = torch::ones({12}, torch::kBool);
  f.in_train[10] = false;
  f.in_train[11] = false;
  torch::manual_seed(7);
  for (int64_t dim : {6, 5, 3}) {
    f.values.push_back(torch::randn({12, dim}));
    f.presence.push_back(torch::ones({12}));
  }
  f.presence[0][3] = 0.0f;
  f.values[0][3].zero_();
  f.presence[1][4] = 0.0f;
  f.values[1][4].zero_();
  return f;
}

// The rows [begin, end) of the item features, as a rank's shard holds them.
inline ItemFeatures slice(const ItemFeatures& f, int64_t begin, int64_t end) {
  ItemFeatures s;
  s.first_item = begin;
  s.count = end - begin;
  s.tag = f.tag.narrow(0, begin, s.count);
  s.in_train = f.in_train.narrow(0, begin, s.count);
  for (size_t k = 0; k < f.values.size(); ++k) {
    s.values.push_back(f.values[k].narrow(0, begin, s.count));
    s.presence.push_back(f.presence[k].narrow(0, begin, s.count));
  }
  s.from_interactions = f.from_interactions;
  return s;
}

}  // namespace pixelrec::model::model_test
