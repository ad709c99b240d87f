// The dense part of the multimodal recommender (SPEC §6): projections of image/text/numeric
// features to D, fusion of the modality tokens (concat, gated, attention), the scorer (the MLP
// head, or with model.scorer dot the item tower and the dot temperature) and the contrastive
// temperature. ID embedding tables live outside (model/embedding_table.h) because
// they are updated sparsely. Item-side work is done once per distinct item of a batch.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "distributed/torch/tensor_collectives.h"
#include "model/fast_dropout.h"

namespace pixelrec::model {

// A content modality the network projects: its store name and input dimension.
struct ContentInput {
  std::string name;  // "image" | "text" | "numeric"
  int64_t dim = 0;
};

// Everything that fixes the network's shapes; saved in checkpoints.
struct NetworkSpec {
  ModelConfig config;
  bool use_tags = true;
  std::vector<ContentInput> content;
  // Item-side tokens in fusion order: item id, [tag], then each content modality.
  int64_t item_token_count() const { return 1 + (use_tags ? 1 : 0) + int64_t(content.size()); }
  int64_t token_count() const { return 1 + item_token_count(); }  // + the user token
};

// Item-side tokens of a set of (distinct) items.
struct ItemSide {
  std::vector<torch::Tensor> tokens;  // item_token_count() tensors [U, D]
  std::vector<torch::Tensor> masks;   // same count; undefined = always present, else float [U]
  torch::Tensor image, text;          // projections for the contrastive loss (undefined if absent)
  torch::Tensor image_present, text_present;
};

class NetworkImpl : public torch::nn::Module {
 public:
  explicit NetworkImpl(NetworkSpec spec);

  // Data-parallel training: the ranks whose rows make up each global batch (null: one process).
  // BatchNorm then uses the global batch's statistics and the contrastive loss its items, and
  // every rank runs every training forward and backward, with or without rows (the recommender's
  // history pooling exchanges item rows with them too).
  void set_ranks(dist::TensorCollectives* ranks, int rank) { ranks_ = ranks, rank_ = rank; }
  dist::TensorCollectives* ranks() const { return ranks_; }

  // item_emb, tag_emb: [U, D]; features[k]: [U, content[k].dim]; presence[k]: float [U].
  // `item_keys` name the U items for content dropout.
  ItemSide item_side(const torch::Tensor& item_emb, const torch::Tensor& tag_emb,
                     const std::vector<torch::Tensor>& features,
                     const std::vector<torch::Tensor>& presence, const DropoutKeys& item_keys = {});

  // Logits [B] for users' tokens [B, D] paired with items side[inverse[b]]; `pair_keys` name the
  // B pairs for head dropout (MLP head). Scorer dot: dot_logits of the two towers.
  torch::Tensor logits(const torch::Tensor& user_tokens, const ItemSide& side,
                       const torch::Tensor& inverse, const DropoutKeys& pair_keys = {});

  // model.scorer dot (network_dot.cpp): the user tower is the user token (the ID embedding), the
  // item tower the fused item tokens projected to D; both unit length with cosine similarity.
  bool dot() const { return spec_.config.scorer == "dot"; }
  torch::Tensor user_vectors(const torch::Tensor& user_tokens) const;  // [B, D]
  torch::Tensor item_vectors(const ItemSide& side);                    // [U, D]
  torch::Tensor dot_temperature() const;  // exp(clamped log-temperature)
  // Row-paired logits [B] = <users[b], items[b]> / temperature.
  torch::Tensor dot_logits(const torch::Tensor& users, const torch::Tensor& items) const;

  // Losses that compare logits (training.loss bpr, softmax) do not change when every logit moves
  // by the same amount, so the MLP head's output bias gets a zero gradient; trained, Adam would
  // turn its rounding noise into steps of the full learning rate. Keeps it at its value (0).
  void freeze_output_bias();

  // Concat fusion with the MLP head only: the first head layer is linear, so it splits into a user
  // part and an item part that scoring computes once per user and once per item ([*, H1], no bias).
  bool factorized() const { return !dot() && spec_.config.fusion_type == "concat"; }
  torch::Tensor user_part(const torch::Tensor& user_tokens);
  torch::Tensor item_part(const ItemSide& side);
  // The rest of the head from the first layer's pre-activation without bias: [P, H1] → [P].
  torch::Tensor head_from_first(const torch::Tensor& first_linear_no_bias,
                                const DropoutKeys& pair_keys = {});

  // Inference form of the head (eval mode): BatchNorm folded into the layers. The first layer's
  // BatchNorm becomes scale/shift, which a scorer folds into its cached user and item parts:
  // head(x) = folded_head_rest(relu(x * first_scale + first_shift)), x the first linear without
  // bias. Saves every BatchNorm and bias pass over the [pairs, H] activations.
  struct FoldedHead {
    torch::Tensor first_scale, first_shift;                       // [H1]
    std::vector<std::pair<torch::Tensor, torch::Tensor>> layers;  // (W^T, b), output last
  };
  FoldedHead fold_head();
  torch::Tensor folded_head_rest(const FoldedHead& head, torch::Tensor first_activated);
  torch::Tensor activate_(torch::Tensor& x) const;  // in place when the activation allows

  // Symmetric InfoNCE between image and text projections of the items that have both, over the
  // global batch (every rank's items). Beyond kMaxContrastiveItems items, a subset drawn from
  // `subset_seed` (equal on every rank). Every rank gets the same value; the gradient each rank
  // computes covers its own items (and the temperature on rank 0 only), so the sum over ranks is
  // one process's gradient.
  torch::Tensor contrastive(const ItemSide& side, uint64_t subset_seed = 0);
  torch::Tensor temperature() const;  // exp(clamped log-temperature)

  const NetworkSpec& spec() const { return spec_; }

 private:
  torch::Tensor activate(const torch::Tensor& x) const;
  void build_head(int64_t fused_dim);  // the MLP head's layers (scorer mlp)
  torch::Tensor fuse(const torch::Tensor& user_tokens, const ItemSide& side,
                     const torch::Tensor& inverse);
  // Gated or attention fusion of stacked tokens [B, M, D] with presence mask [B, M] → [B, D].
  torch::Tensor fuse_stacked(const torch::Tensor& stacked, const torch::Tensor& mask);
  torch::Tensor masked(const ItemSide& side, size_t k) const;
  torch::Tensor project(size_t k, torch::Tensor x, const DropoutKeys& keys);
  // Every rank's rows of x [n, C] in rank order; this rank's keep their gradient.
  torch::Tensor gather_rows(const torch::Tensor& x);

  NetworkSpec spec_;
  int64_t dim_;
  std::vector<torch::nn::Sequential> projections_;
  torch::nn::Linear gate_{nullptr};
  torch::nn::MultiheadAttention attention_{nullptr};
  torch::nn::LayerNorm attention_norm_{nullptr};
  torch::nn::Linear first_{nullptr};
  std::vector<torch::nn::BatchNorm1d> norms_;  // one per hidden layer when use_batch_norm
  std::vector<torch::nn::Linear> hidden_;      // hidden layers after the first
  FastDropout dropout_{nullptr};
  torch::nn::Linear output_{nullptr};
  torch::Tensor log_temperature_;
  torch::nn::Linear item_out_{nullptr};  // scorer dot: fused item tokens → D
  torch::Tensor dot_log_temperature_;    // scorer dot
  dist::TensorCollectives* ranks_ = nullptr;
  int rank_ = 0;
};
TORCH_MODULE(Network);

// Symmetric InfoNCE of row-paired [N, D] matrices at temperature t (exposed for tests).
torch::Tensor info_nce(const torch::Tensor& image, const torch::Tensor& text,
                       const torch::Tensor& temperature);

// Applies model.init_method to a weight tensor (embeddings and linear layers).
void init_weight(torch::Tensor& weight, const std::string& method);

}  // namespace pixelrec::model
