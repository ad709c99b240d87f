// TorchScript text backbones: title + tag + description through the WordPiece tokenizer, int64
// [B, T] input_ids and attention_mask into the frozen module, masked mean pooling of the tokens.
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

  ExtractBatchStats extract(const std::vector<const ItemContent*>& batch, float* out,
                            uint8_t* present) override;

 private:
  std::string describe_json() const;
  void forward(const std::vector<TokenizedText>& encoded, const std::vector<size_t>& rows,
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
                              {"dim", sidecar_.dim}};
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
  if (!tokens) return y.to(torch::kFloat).contiguous();
  // Masked mean: padding positions contribute nothing and do not count.
  const torch::Tensor weights = mask.to(torch::kFloat).unsqueeze(-1);
  const torch::Tensor sums = (y.to(torch::kFloat) * weights).sum(1);
  return (sums / weights.sum(1).clamp_min(1.0)).contiguous();
}

void TextBackbone::forward(const std::vector<TokenizedText>& encoded,
                           const std::vector<size_t>& rows, float* out, uint8_t* present) {
  // Trailing columns that are padding in every row are dropped: with the attention mask they
  // change nothing but cost a full forward each.
  int64_t length = 1;
  for (const TokenizedText& tokens : encoded) length = std::max(length, real_length(tokens));
  const int64_t n = static_cast<int64_t>(encoded.size());
  torch::Tensor ids = torch::empty({n, length}, torch::kLong);
  torch::Tensor mask = torch::empty({n, length}, torch::kLong);
  const size_t row_bytes = static_cast<size_t>(length) * sizeof(int64_t);
  for (size_t k = 0; k < encoded.size(); ++k) {
    PIXELREC_CHECK(encoded[k].ids.size() >= static_cast<size_t>(length) &&
                       encoded[k].mask.size() == encoded[k].ids.size(),
                   "WordPiece encodings are padded to max_length");
    std::memcpy(ids.data_ptr<int64_t>() + k * length, encoded[k].ids.data(), row_bytes);
    std::memcpy(mask.data_ptr<int64_t>() + k * length, encoded[k].mask.data(), row_bytes);
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
  std::string text;
  std::vector<TokenizedText> encoded;
  std::vector<size_t> rows;  // batch index of each encoded text
  encoded.reserve(std::min(batch_size_, batch.size()));
  rows.reserve(encoded.capacity());
  for (size_t begin = 0; begin < batch.size(); begin += batch_size_) {
    encoded.clear();
    rows.clear();
    const size_t end = std::min(batch.size(), begin + batch_size_);
    for (size_t i = begin; i < end; ++i) {
      item_text(*batch[i], text);
      if (trim(text).empty()) continue;  // no text: presence 0, not an unusable input
      encoded.push_back(tokenizer_.encode(text));
      rows.push_back(i);
    }
    if (!rows.empty()) forward(encoded, rows, out, present);
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
