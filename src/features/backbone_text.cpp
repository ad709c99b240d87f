// TorchScript text backbones: title + tag + description through the WordPiece tokenizer, int64
// [B, T] input_ids and attention_mask into the frozen module, then the sidecar's pooling (masked
// mean or CLS) and optional L2 normalisation. Texts are tokenized on LibTorch's intra-op threads
// and batched by length, so a batch pads little.
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/hash.h"
#include "core/strings.h"
#include "features/backbone.h"
#include "features/wordpiece.h"

namespace pixelrec::features {

namespace {

torch::jit::Module load_text_module(const BackboneFiles& files) {
  try {
    torch::jit::Module module = torch::jit::load(files.module.string(), torch::kCPU);
    module.eval();
    return module;
  } catch (const std::exception& e) {
    throw_unloadable_backbone(files, e.what());
  }
}

WordPieceOptions tokenizer_options(const TextSidecar& sidecar, const FeaturesConfig& features) {
  WordPieceOptions options;
  options.lowercase = sidecar.lowercase;
  options.strip_accents = sidecar.strip_accents;
  options.max_length = std::min(sidecar.max_length, features.text_max_length);
  return options;
}

// The text an item is encoded from; empty (after trimming) when the item has none.
void item_text(const ItemContent& item, std::string& text) {
  text.clear();
  text.append(item.title).append(" ").append(item.tag).append(" ").append(item.description);
}

int64_t real_length(const TokenizedText& tokens) {
  return static_cast<int64_t>(std::count(tokens.mask.begin(), tokens.mask.end(), int64_t{1}));
}

class TextBackbone final : public FeatureExtractor {
 public:
  TextBackbone(BackboneFiles files, const TextSidecar& sidecar, const FeaturesConfig& features)
      : files_(std::move(files)),
        sidecar_(sidecar),
        options_(tokenizer_options(sidecar, features)),
        batch_size_(static_cast<size_t>(std::max(features.batch_size, 1))),
        tokenizer_(files_.backbone_dir / sidecar.vocab, options_),
        module_(load_text_module(files_)) {
    description_ = describe_json();
  }

  std::string modality() const override { return "text"; }
  int dim() const override { return sidecar_.dim; }
  std::string describe() const override { return description_; }
  // A forward already uses every intra-op thread; concurrent forwards would oversubscribe.
  bool thread_safe() const override { return false; }
  void set_threads(int threads) override { at::set_num_threads(std::max(threads, 1)); }

  ExtractBatchStats extract(const std::vector<const ItemContent*>& batch, float* out,
                            uint8_t* present) override;

 private:
  std::string describe_json() const;
  void forward(const std::vector<const TokenizedText*>& encoded, const std::vector<size_t>& rows,
               float* out, uint8_t* present);
  torch::Tensor pooled_output(const torch::Tensor& ids, const torch::Tensor& mask);

  BackboneFiles files_;
  TextSidecar sidecar_;
  WordPieceOptions options_;
  size_t batch_size_;
  WordPieceTokenizer tokenizer_;
  torch::jit::Module module_;
  std::string description_;
};

std::string TextBackbone::describe_json() const {
  const std::filesystem::path vocab = files_.backbone_dir / sidecar_.vocab;
  const nlohmann::json doc = {{"name", files_.name},
                              {"kind", "torchscript_text"},
                              {"file", files_.module.string()},
                              {"file_hash", Hasher().add_file_contents(files_.module).hex()},
                              {"vocab", vocab.string()},
                              {"vocab_hash", Hasher().add_file_contents(vocab).hex()},
                              {"lowercase", options_.lowercase},
                              {"strip_accents", options_.strip_accents},
                              {"max_length", options_.max_length},
                              {"output", sidecar_.output},
                              {"pooling", sidecar_.pooling},
                              {"normalize", sidecar_.normalize},
                              {"dim", sidecar_.dim},
                              {"source", nlohmann::json::parse(sidecar_.source)}};
  return doc.dump();
}

torch::Tensor TextBackbone::pooled_output(const torch::Tensor& ids, const torch::Tensor& mask) {
  torch::jit::IValue result;
  try {
    result = module_.forward({ids, mask});
  } catch (const std::exception& e) {
    throw_forward_failure(files_, "input_ids/attention_mask " + shape_string(ids.sizes().vec()),
                          e.what());
  }
  const int64_t n = ids.size(0), t = ids.size(1), d = sidecar_.dim;
  const bool tokens = sidecar_.output == "token_embeddings";
  const std::string expected = tokens ? shape_string({n, t, d}) + " (output \"token_embeddings\")"
                                      : shape_string({n, d}) + " (output \"pooled\")";
  if (!result.isTensor()) throw_output_mismatch(files_, expected, "a " + result.tagKind());
  const torch::Tensor y = result.toTensor();
  const std::vector<int64_t> want =
      tokens ? std::vector<int64_t>{n, t, d} : std::vector<int64_t>{n, d};
  if (y.sizes().vec() != want)
    throw_output_mismatch(files_, expected, "shape " + shape_string(y.sizes().vec()));
  torch::Tensor pooled;
  if (!tokens) {
    pooled = y.to(torch::kFloat);
  } else if (sidecar_.pooling == "cls") {
    pooled = y.select(1, 0).to(torch::kFloat);
  } else {  // masked mean: padding positions contribute nothing and do not count
    const torch::Tensor weights = mask.to(torch::kFloat).unsqueeze(-1);
    pooled = (y.to(torch::kFloat) * weights).sum(1) / weights.sum(1).clamp_min(1.0);
  }
  // As sentence-transformers' Normalize (torch.nn.functional.normalize, p=2, dim=1) does.
  if (sidecar_.normalize) pooled = pooled / pooled.norm(2, 1, true).clamp_min(1e-12);
  return pooled.contiguous();
}

void TextBackbone::forward(const std::vector<const TokenizedText*>& encoded,
                           const std::vector<size_t>& rows, float* out, uint8_t* present) {
  // Trailing columns that are padding in every row are dropped: with the attention mask they
  // change nothing but cost a full forward each.
  int64_t length = 1;
  for (const TokenizedText* tokens : encoded) length = std::max(length, real_length(*tokens));
  const int64_t n = static_cast<int64_t>(encoded.size());
  torch::Tensor ids = torch::empty({n, length}, torch::kLong);
  torch::Tensor mask = torch::empty({n, length}, torch::kLong);
  const size_t row_bytes = static_cast<size_t>(length) * sizeof(int64_t);
  for (size_t k = 0; k < encoded.size(); ++k) {
    PIXELREC_CHECK(encoded[k]->ids.size() >= static_cast<size_t>(length) &&
                       encoded[k]->mask.size() == encoded[k]->ids.size(),
                   "WordPiece encodings are padded to max_length");
    std::memcpy(ids.data_ptr<int64_t>() + k * length, encoded[k]->ids.data(), row_bytes);
    std::memcpy(mask.data_ptr<int64_t>() + k * length, encoded[k]->mask.data(), row_bytes);
  }
  c10::InferenceMode inference;
  const torch::Tensor pooled = pooled_output(ids, mask);
  const float* src = pooled.data_ptr<float>();
  const size_t d = static_cast<size_t>(sidecar_.dim);
  for (size_t k = 0; k < rows.size(); ++k) {
    std::memcpy(out + rows[k] * d, src + k * d, d * sizeof(float));
    present[rows[k]] = 1;
  }
}

ExtractBatchStats TextBackbone::extract(const std::vector<const ItemContent*>& batch, float* out,
                                        uint8_t* present) {
  std::fill(out, out + batch.size() * static_cast<size_t>(sidecar_.dim), 0.0f);
  std::fill(present, present + batch.size(), uint8_t{0});
  std::vector<TokenizedText> encoded(batch.size());
  std::vector<uint8_t> has_text(batch.size(), 0);
  at::parallel_for(0, static_cast<int64_t>(batch.size()), 16, [&](int64_t lo, int64_t hi) {
    std::string text;
    for (int64_t i = lo; i < hi; ++i) {
      item_text(*batch[i], text);
      if (trim(text).empty()) continue;  // no text: presence 0, not an unusable input
      encoded[i] = tokenizer_.encode(text);
      has_text[i] = 1;
    }
  });
  // Shortest first, so that each forward pads to a length close to its texts' own.
  std::vector<size_t> order;
  std::vector<int64_t> lengths(batch.size(), 0);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!has_text[i]) continue;
    order.push_back(i);
    lengths[i] = real_length(encoded[i]);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  std::vector<const TokenizedText*> group;
  std::vector<size_t> rows;  // batch index of each text in the group
  for (size_t begin = 0; begin < order.size(); begin += batch_size_) {
    group.clear();
    rows.clear();
    for (size_t k = begin; k < std::min(order.size(), begin + batch_size_); ++k) {
      group.push_back(&encoded[order[k]]);
      rows.push_back(order[k]);
    }
    forward(group, rows, out, present);
  }
  return {};
}

}  // namespace

std::unique_ptr<FeatureExtractor> make_text_backbone(const BackboneFiles& files,
                                                     const TextSidecar& sidecar,
                                                     const FeaturesConfig& features) {
  return std::make_unique<TextBackbone>(files, sidecar, features);
}

}  // namespace pixelrec::features
