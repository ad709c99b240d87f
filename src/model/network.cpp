#include "model/network.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <vector>

#include "core/errors.h"
#include "model/sync_batch_norm.h"

namespace pixelrec::model {
namespace {

constexpr double kMinTemperature = 0.01;  // CLIP's bound on the logit scale (100)
constexpr double kMaxTemperature = 1.0;
constexpr int64_t kMaxContrastiveItems = 512;

void push_activation(torch::nn::Sequential& seq, const std::string& name) {
  if (name == "relu")
    seq->push_back(torch::nn::ReLU());
  else if (name == "gelu")
    seq->push_back(torch::nn::GELU());
  else if (name == "tanh")
    seq->push_back(torch::nn::Tanh());
  else if (name == "leaky_relu")
    seq->push_back(torch::nn::LeakyReLU());
  else if (name == "silu")
    seq->push_back(torch::nn::SiLU());
  else
    throw ConfigError("model.fusion_activation: unknown activation '" + name + "'");
}

torch::nn::Linear make_linear(int64_t in, int64_t out, const std::string& init) {
  torch::nn::Linear layer(in, out);
  init_weight(layer->weight, init);
  torch::NoGradGuard no_grad;
  layer->bias.zero_();
  return layer;
}

}  // namespace

void init_weight(torch::Tensor& weight, const std::string& method) {
  torch::NoGradGuard no_grad;
  if (method == "xavier_uniform")
    torch::nn::init::xavier_uniform_(weight);
  else if (method == "xavier_normal")
    torch::nn::init::xavier_normal_(weight);
  else if (method == "kaiming_uniform")
    torch::nn::init::kaiming_uniform_(weight, 0.0, torch::kFanIn, torch::kReLU);
  else if (method == "kaiming_normal")
    torch::nn::init::kaiming_normal_(weight, 0.0, torch::kFanIn, torch::kReLU);
  else
    throw ConfigError("model.init_method: unknown method '" + method + "'");
}

NetworkImpl::NetworkImpl(NetworkSpec spec) : spec_(std::move(spec)) {
  const ModelConfig& c = spec_.config;
  dim_ = c.embedding_dim;
  if (c.scorer != "mlp" && c.scorer != "dot")
    throw ConfigError("model.scorer: unknown scorer '" + c.scorer + "'; use mlp or dot");
  if (c.user_history != "none" && c.user_history != "mean")
    throw ConfigError("model.user_history: unknown pooling '" + c.user_history +
                      "'; use none or mean");
  if (c.user_history == "mean" && !dot())
    throw ConfigError(
        "model.user_history mean pools the history into the dot scorer's user tower; set "
        "model.scorer: dot (or model.user_history: none)");
  if (!c.user_id_embedding && c.user_history != "mean")
    throw ConfigError(
        "model.user_id_embedding false leaves the user's pooled history as the only thing that "
        "tells users apart; set model.user_history: mean (with model.scorer: dot), or "
        "model.user_id_embedding: true");
  if (c.user_history_content && c.user_history != "mean")
    throw ConfigError(
        "model.user_history_content adds the pooled history items' content vectors to the user "
        "tower; set model.user_history: mean (with model.scorer: dot), or "
        "model.user_history_content: false");
  if (!dot() && c.fusion_hidden_dims.empty())
    throw ConfigError(
        "model.fusion_hidden_dims is empty; give at least one layer, e.g. [256, 128]");
  if (c.fusion_type == "attention" && dim_ % c.num_attention_heads != 0)
    throw ConfigError("model.embedding_dim (" + std::to_string(dim_) +
                      ") must be divisible by model.num_attention_heads (" +
                      std::to_string(c.num_attention_heads) + ") for attention fusion");
  for (const auto& input : spec_.content) {
    torch::nn::Sequential seq;
    const int64_t hidden = c.projection_hidden_dim ? *c.projection_hidden_dim : dim_;
    seq->push_back(make_linear(input.dim, hidden, c.init_method));
    push_activation(seq, c.fusion_activation);
    seq->push_back(FastDropout(c.dropout_rate));
    if (c.projection_hidden_dim) {
      seq->push_back(make_linear(hidden, dim_, c.init_method));
      push_activation(seq, c.fusion_activation);
      seq->push_back(FastDropout(c.dropout_rate));
    }
    projections_.push_back(register_module("project_" + input.name, seq));
  }
  // The MLP head fuses the user token with the item tokens; the dot item tower the item tokens.
  const int64_t tokens = dot() ? spec_.item_token_count() : spec_.token_count();
  int64_t fused_dim = dim_;
  if (c.fusion_type == "concat") {
    fused_dim = tokens * dim_;
  } else if (c.fusion_type == "gated") {
    gate_ = register_module("gate", make_linear(tokens * dim_, tokens, c.init_method));
  } else if (c.fusion_type == "attention") {
    attention_ = register_module(
        "attention", torch::nn::MultiheadAttention(
                         torch::nn::MultiheadAttentionOptions(dim_, c.num_attention_heads)
                             .dropout(c.attention_dropout)));
    attention_norm_ = register_module("attention_norm",
                                      torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim_})));
  } else {
    throw ConfigError("model.fusion_type: unknown fusion '" + c.fusion_type +
                      "'; use concat, gated or attention");
  }
  if (dot()) {
    item_out_ = register_module("item_tower_out", make_linear(fused_dim, dim_, c.init_method));
    dot_log_temperature_ =
        register_parameter("dot_log_temperature", torch::full({}, std::log(c.dot_temperature)));
  } else {
    build_head(fused_dim);
  }
  log_temperature_ =
      register_parameter("log_temperature", torch::full({}, std::log(c.contrastive_temperature)),
                         /*requires_grad=*/c.use_contrastive);
}

void NetworkImpl::build_head(int64_t fused_dim) {
  const ModelConfig& c = spec_.config;
  const auto& dims = c.fusion_hidden_dims;
  first_ = register_module("head_0", make_linear(fused_dim, dims[0], c.init_method));
  for (size_t i = 0; i < dims.size(); ++i) {
    if (c.use_batch_norm)
      norms_.push_back(
          register_module("head_norm_" + std::to_string(i), torch::nn::BatchNorm1d(dims[i])));
    if (i + 1 < dims.size())
      hidden_.push_back(register_module("head_" + std::to_string(i + 1),
                                        make_linear(dims[i], dims[i + 1], c.init_method)));
  }
  // BatchNorm subtracts the batch mean, so a bias before it has a zero gradient; trained, Adam
  // would turn that gradient's rounding noise into steps of the full learning rate. Kept at 0.
  if (c.use_batch_norm) {
    first_->bias.set_requires_grad(false);
    for (auto& layer : hidden_) layer->bias.set_requires_grad(false);
  }
  dropout_ = register_module("head_dropout", FastDropout(c.dropout_rate));
  output_ = register_module("head_out", make_linear(dims.back(), 1, c.init_method));
}

void NetworkImpl::freeze_output_bias() {
  if (output_) output_->bias.set_requires_grad(false);
}

torch::Tensor NetworkImpl::activate(const torch::Tensor& x) const {
  const std::string& a = spec_.config.fusion_activation;
  if (a == "relu") return torch::relu(x);
  if (a == "gelu") return torch::gelu(x);
  if (a == "tanh") return torch::tanh(x);
  if (a == "leaky_relu") return torch::leaky_relu(x, 0.01);
  return torch::silu(x);
}

torch::Tensor NetworkImpl::project(size_t k, torch::Tensor x, const DropoutKeys& keys) {
  uint64_t site = 1000 + 10 * k;  // distinct from the head's layers
  for (auto& module : *projections_[k]) {
    if (auto* dropout = module.ptr()->as<FastDropoutImpl>())
      x = dropout->forward(x, keys.site(site++));
    else
      x = module.forward(x);
  }
  return x;
}

ItemSide NetworkImpl::item_side(const torch::Tensor& item_emb, const torch::Tensor& tag_emb,
                                const std::vector<torch::Tensor>& features,
                                const std::vector<torch::Tensor>& presence,
                                const DropoutKeys& item_keys) {
  ItemSide side;
  side.tokens.push_back(item_emb);
  side.masks.emplace_back();
  if (spec_.use_tags) {
    side.tokens.push_back(tag_emb);
    side.masks.emplace_back();
  }
  for (size_t k = 0; k < spec_.content.size(); ++k) {
    torch::Tensor projected = project(k, features[k], item_keys);
    side.tokens.push_back(projected);
    side.masks.push_back(presence[k]);
    if (spec_.content[k].name == "image") {
      side.image = projected;
      side.image_present = presence[k];
    } else if (spec_.content[k].name == "text") {
      side.text = projected;
      side.text_present = presence[k];
    }
  }
  return side;
}

// A token with absent rows zeroed: a missing image contributes nothing to concat/gated fusion.
torch::Tensor NetworkImpl::masked(const ItemSide& side, size_t k) const {
  if (!side.masks[k].defined()) return side.tokens[k];
  return side.tokens[k] * side.masks[k].unsqueeze(1);
}

torch::Tensor NetworkImpl::user_part(const torch::Tensor& user_tokens) {
  return torch::matmul(user_tokens, first_->weight.narrow(1, 0, dim_).t());
}

torch::Tensor NetworkImpl::item_part(const ItemSide& side) {
  std::vector<torch::Tensor> parts;
  for (size_t k = 0; k < side.tokens.size(); ++k) parts.push_back(masked(side, k));
  const torch::Tensor items = torch::cat(parts, 1);
  return torch::matmul(items, first_->weight.narrow(1, dim_, items.size(1)).t());
}

torch::Tensor NetworkImpl::head_from_first(const torch::Tensor& first_linear_no_bias,
                                           const DropoutKeys& pair_keys) {
  torch::Tensor h = first_linear_no_bias + first_->bias;
  for (size_t i = 0; i < spec_.config.fusion_hidden_dims.size(); ++i) {
    if (i > 0) h = hidden_[i - 1]->forward(h);
    if (!norms_.empty())
      h = is_training() ? batch_norm_over_ranks(h, *norms_[i], ranks_) : norms_[i]->forward(h);
    h = dropout_->forward(activate(h), pair_keys.site(i));
  }
  return output_->forward(h).squeeze(1);
}

torch::Tensor NetworkImpl::activate_(torch::Tensor& x) const {
  if (spec_.config.fusion_activation == "relu") return x.relu_();
  x = activate(x);
  return x;
}

NetworkImpl::FoldedHead NetworkImpl::fold_head() {
  torch::NoGradGuard no_grad;
  FoldedHead f;
  const auto bn = [&](size_t i) -> std::pair<torch::Tensor, torch::Tensor> {  // y = x*a + c
    if (norms_.empty()) return {};
    const auto& n = norms_[i];
    const torch::Tensor a = n->weight / (n->running_var + n->options.eps()).sqrt();
    return {a, n->bias - n->running_mean * a};
  };
  const auto [a0, c0] = bn(0);
  f.first_scale = a0.defined() ? a0 : torch::ones_like(first_->bias);
  f.first_shift = a0.defined() ? first_->bias * a0 + c0 : first_->bias.clone();
  for (size_t i = 0; i < hidden_.size(); ++i) {
    const auto [a, c] = bn(i + 1);
    torch::Tensor w = hidden_[i]->weight, b = hidden_[i]->bias;
    if (a.defined()) {
      w = w * a.unsqueeze(1);
      b = b * a + c;
    }
    f.layers.emplace_back(w.t().contiguous(), b.clone());
  }
  f.layers.emplace_back(output_->weight.t().contiguous(), output_->bias.clone());
  return f;
}

torch::Tensor NetworkImpl::folded_head_rest(const FoldedHead& head, torch::Tensor first_activated) {
  torch::Tensor h = std::move(first_activated);
  for (size_t i = 0; i < head.layers.size(); ++i) {
    h = torch::addmm(head.layers[i].second, h, head.layers[i].first);
    if (i + 1 < head.layers.size()) activate_(h);
  }
  return h.squeeze(1);
}

torch::Tensor NetworkImpl::fuse(const torch::Tensor& user_tokens, const ItemSide& side,
                                const torch::Tensor& inverse) {
  std::vector<torch::Tensor> tokens{user_tokens};
  std::vector<torch::Tensor> present;  // per token [B] (1 = present)
  const auto ones = torch::ones({user_tokens.size(0)}, user_tokens.options());
  present.push_back(ones);
  for (size_t k = 0; k < side.tokens.size(); ++k) {
    tokens.push_back(masked(side, k).index_select(0, inverse));
    present.push_back(side.masks[k].defined() ? side.masks[k].index_select(0, inverse) : ones);
  }
  return fuse_stacked(torch::stack(tokens, 1), torch::stack(present, 1));
}

torch::Tensor NetworkImpl::fuse_stacked(const torch::Tensor& stacked, const torch::Tensor& mask) {
  const int64_t m = stacked.size(1);
  if (spec_.config.fusion_type == "gated") {
    torch::Tensor gate_logits = gate_->forward(stacked.reshape({-1, m * dim_}));
    gate_logits = gate_logits.masked_fill(mask.eq(0), -std::numeric_limits<float>::infinity());
    const torch::Tensor gates = torch::softmax(gate_logits, 1);  // absent modalities get 0
    return (gates.unsqueeze(2) * stacked).sum(1);
  }
  // attention: self-attention over the present tokens, residual + LayerNorm, mean of present.
  const torch::Tensor seq = stacked.transpose(0, 1);  // [M, B, D]
  const auto [attended, weights] =
      attention_->forward(seq, seq, seq, /*key_padding_mask=*/mask.eq(0));
  (void)weights;
  const torch::Tensor normed = attention_norm_->forward(seq + attended).transpose(0, 1);
  return (normed * mask.unsqueeze(2)).sum(1) / mask.sum(1, /*keepdim=*/true);
}

torch::Tensor NetworkImpl::logits(const torch::Tensor& user_tokens, const ItemSide& side,
                                  const torch::Tensor& inverse, const DropoutKeys& pair_keys) {
  if (dot())
    return dot_logits(user_vectors(user_tokens), item_vectors(side).index_select(0, inverse));
  if (factorized())
    return head_from_first(user_part(user_tokens) + item_part(side).index_select(0, inverse),
                           pair_keys);
  const torch::Tensor fused = fuse(user_tokens, side, inverse);
  return head_from_first(torch::matmul(fused, first_->weight.t()), pair_keys);
}

torch::Tensor NetworkImpl::temperature() const {
  return log_temperature_.clamp(std::log(kMinTemperature), std::log(kMaxTemperature)).exp();
}

torch::Tensor NetworkImpl::gather_rows(const torch::Tensor& x) {
  if (!ranks_) return x;
  const auto long_options = torch::TensorOptions(torch::kLong).device(x.device());
  const torch::Tensor counts =
      ranks_->allgather(torch::full({1}, x.size(0), long_options)).to(torch::kCPU);
  const int64_t* count = counts.data_ptr<int64_t>();
  const int64_t widest = counts.max().item<int64_t>();
  torch::Tensor padded = torch::zeros({widest, x.size(1)}, x.options());
  padded.narrow(0, 0, x.size(0)).copy_(x.detach());
  const torch::Tensor all = ranks_->allgather(padded);
  std::vector<torch::Tensor> parts;
  for (int64_t r = 0; r < counts.size(0); ++r)
    parts.push_back(r == rank_ ? x : all.narrow(0, r * widest, count[r]));
  return torch::cat(parts);
}

torch::Tensor NetworkImpl::contrastive(const ItemSide& side, uint64_t subset_seed) {
  if (!side.image.defined() || !side.text.defined())
    return torch::zeros({}, log_temperature_.options());
  const torch::Tensor both = (side.image_present * side.text_present).gt(0).nonzero().squeeze(1);
  // Each rank's items are a contiguous id range in rank order, so the gathered rows are the
  // global batch's items in one process's (sorted) order.
  const torch::Tensor pairs = gather_rows(
      torch::cat({side.image.index_select(0, both), side.text.index_select(0, both)}, 1));
  const int64_t n = pairs.size(0), d = side.image.size(1);
  if (n < 2) return torch::zeros({}, log_temperature_.options());
  torch::Tensor chosen = pairs;
  // InfoNCE costs O(n^2) in the batch's distinct items: beyond kMaxContrastiveItems a random
  // subset keeps it a small part of a step.
  if (n > kMaxContrastiveItems) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(subset_seed);
    const torch::Tensor subset = std::get<0>(
        torch::randperm(n, generator, torch::kLong).narrow(0, 0, kMaxContrastiveItems).sort());
    chosen = pairs.index_select(0, subset.to(pairs.device()));
  }
  torch::Tensor t = temperature();
  // One rank's loss carries the temperature's gradient; the path stays on every rank (equal
  // autograd graphs keep the ranks' backward collectives in step), scaled to zero.
  if (ranks_ && rank_ != 0) t = t.detach() + (t - t.detach()) * 0.0;
  return info_nce(chosen.narrow(1, 0, d), chosen.narrow(1, d, d), t);
}

torch::Tensor info_nce(const torch::Tensor& image, const torch::Tensor& text,
                       const torch::Tensor& temperature) {
  namespace F = torch::nn::functional;
  const torch::Tensor a = F::normalize(image, F::NormalizeFuncOptions().dim(1).eps(1e-8));
  const torch::Tensor b = F::normalize(text, F::NormalizeFuncOptions().dim(1).eps(1e-8));
  const torch::Tensor logits = torch::matmul(a, b.t()) / temperature;
  const torch::Tensor targets =
      torch::arange(image.size(0), torch::TensorOptions(torch::kLong).device(image.device()));
  return 0.5 * (F::cross_entropy(logits, targets) + F::cross_entropy(logits.t(), targets));
}

}  // namespace pixelrec::model
