#include "features/text_builtin.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/hash.h"

namespace pixelrec::features {

namespace {

constexpr int kVersion = 1;
constexpr int kProjectionNonZeros = 4;  // (dimension, ±1) pairs per bucket
constexpr uint64_t kProjectionSeed = 0x7E47B0C5A11D5EEDull;
constexpr uint64_t kUnigramSalt = 0x51A7E0F0C0FFEE01ull;
constexpr uint64_t kBigramSalt = 0xB16A3B16A3B16A3Bull;
constexpr uint64_t kFnvOffset = 0xCBF29CE484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001B3ull;

uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

bool is_word_byte(unsigned char c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

unsigned char lower_ascii(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

// Calls on_word(begin, end) for each word of `text` (byte offsets), without allocating.
template <class OnWord>
void for_each_word(std::string_view text, OnWord on_word) {
  size_t begin = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const bool word_byte = i < text.size() && is_word_byte(static_cast<unsigned char>(text[i]));
    if (word_byte) continue;
    if (i > begin) on_word(begin, i);
    begin = i + 1;
  }
}

// FNV-1a of the lowercased word.
uint64_t word_hash(std::string_view text, size_t begin, size_t end) {
  uint64_t h = kFnvOffset;
  for (size_t i = begin; i < end; ++i) {
    h ^= lower_ascii(static_cast<unsigned char>(text[i]));
    h *= kFnvPrime;
  }
  return h;
}

// Feature keys of one field: (bucket << 1) | sign bit, for every unigram and in-field bigram.
void hash_field(std::string_view text, uint64_t bucket_mask, std::vector<uint64_t>& keys) {
  uint64_t previous = 0;
  bool has_previous = false;
  const auto add = [&](uint64_t feature) {
    keys.push_back(((feature & bucket_mask) << 1) | (feature >> 63));
  };
  for_each_word(text, [&](size_t begin, size_t end) {
    const uint64_t word = word_hash(text, begin, end);
    add(mix64(word ^ kUnigramSalt));
    if (has_previous) add(mix64(mix64(previous ^ kBigramSalt) + word));
    previous = word;
    has_previous = true;
  });
}

// Sorted feature keys of an item's title, tag and description (bigrams never span fields).
void item_keys(const ItemContent& item, uint64_t bucket_mask, std::vector<uint64_t>& keys) {
  keys.clear();
  hash_field(item.title, bucket_mask, keys);
  hash_field(item.tag, bucket_mask, keys);
  hash_field(item.description, bucket_mask, keys);
  std::sort(keys.begin(), keys.end());
}

class BuiltinTextExtractor final : public FeatureExtractor {
 public:
  BuiltinTextExtractor(int dim, int hash_bits)
      : dim_(dim), hash_bits_(hash_bits), bucket_mask_((uint64_t{1} << hash_bits) - 1) {
    PIXELREC_CHECK(dim_ > 0 && hash_bits_ > 0 && hash_bits_ < 32, "validated by the config");
  }

  std::string modality() const override { return "text"; }
  int dim() const override { return dim_; }
  std::string describe() const override;
  void fit(const std::vector<ItemContent>& training_items) override;
  ExtractBatchStats extract(const std::vector<const ItemContent*>& batch, float* out,
                            uint8_t* present) override;

 private:
  // Adds weight × the bucket's sparse random projection column to `row`.
  void project(uint64_t bucket, float weight, float* row) const;

  int dim_;
  int hash_bits_;
  uint64_t bucket_mask_;
  bool fitted_ = false;
  size_t documents_ = 0;
  std::vector<float> idf_;  // per bucket
  std::string idf_hash_;
};

std::string BuiltinTextExtractor::describe() const {
  nlohmann::ordered_json fit = nullptr;
  if (fitted_) fit = {{"documents", documents_}, {"idf_hash", idf_hash_}};
  const nlohmann::ordered_json json = {{"name", "builtin-text"},
                                       {"version", kVersion},
                                       {"dim", dim_},
                                       {"fields", {"title", "tag", "description"}},
                                       {"words", "ascii-alphanumeric-and-utf8-multibyte"},
                                       {"ngrams", {1, 2}},
                                       {"hash", "fnv1a64-splitmix64"},
                                       {"hash_bits", hash_bits_},
                                       {"sign_hashing", true},
                                       {"tf", "1+log(tf)"},
                                       {"idf", "log((1+n)/(1+df))+1"},
                                       {"projection",
                                        {{"kind", "sparse-random-sign"},
                                         {"nonzeros_per_bucket", kProjectionNonZeros},
                                         {"seed", to_hex(kProjectionSeed)}}},
                                       {"normalisation", "l2"},
                                       {"fit", fit}};
  return json.dump();
}

void BuiltinTextExtractor::fit(const std::vector<ItemContent>& training_items) {
  std::vector<uint32_t> df(bucket_mask_ + 1, 0);
  std::vector<uint64_t> keys;
  for (const ItemContent& item : training_items) {
    item_keys(item, bucket_mask_, keys);
    for (size_t k = 0; k < keys.size(); ++k)
      if (k == 0 || (keys[k] >> 1) != (keys[k - 1] >> 1)) ++df[keys[k] >> 1];
  }
  documents_ = training_items.size();
  const double n = static_cast<double>(documents_);
  idf_.resize(df.size());
  for (size_t b = 0; b < df.size(); ++b)
    idf_[b] = static_cast<float>(std::log((1.0 + n) / (1.0 + df[b])) + 1.0);
  Hasher hasher;
  hasher.add(static_cast<uint64_t>(documents_));
  hasher.add(std::string_view(reinterpret_cast<const char*>(df.data()), df.size() * sizeof(df[0])));
  idf_hash_ = hasher.hex();
  fitted_ = true;
}

void BuiltinTextExtractor::project(uint64_t bucket, float weight, float* row) const {
  for (uint64_t j = 0; j < kProjectionNonZeros; ++j) {
    const uint64_t h = mix64(kProjectionSeed ^ (bucket * kProjectionNonZeros + j));
    const auto d = static_cast<size_t>(((h & 0xFFFFFFFFull) * static_cast<uint64_t>(dim_)) >> 32);
    row[d] += (h >> 63) ? -weight : weight;
  }
}

ExtractBatchStats BuiltinTextExtractor::extract(const std::vector<const ItemContent*>& batch,
                                                float* out, uint8_t* present) {
  PIXELREC_CHECK(fitted_, "builtin text extractor: fit() must run before extract()");
  std::vector<uint64_t> keys;
  for (size_t i = 0; i < batch.size(); ++i) {
    float* row = out + i * static_cast<size_t>(dim_);
    std::fill(row, row + dim_, 0.0f);
    item_keys(*batch[i], bucket_mask_, keys);
    for (size_t k = 0; k < keys.size();) {
      size_t run = k + 1;
      while (run < keys.size() && keys[run] == keys[k]) ++run;
      const uint64_t bucket = keys[k] >> 1;
      const float tf_weight = 1.0f + std::log(static_cast<float>(run - k));
      const float weight = tf_weight * idf_[bucket];
      project(bucket, (keys[k] & 1) ? -weight : weight, row);
      k = run;
    }
    double norm = 0;
    for (int d = 0; d < dim_; ++d) norm += static_cast<double>(row[d]) * row[d];
    present[i] = norm > 0 ? 1 : 0;  // no words: masked, like an item without text
    if (norm > 0) {
      const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
      for (int d = 0; d < dim_; ++d) row[d] *= inv;
    }
  }
  return {};
}

}  // namespace

std::vector<std::string> builtin_text_words(std::string_view text) {
  std::vector<std::string> words;
  for_each_word(text, [&](size_t begin, size_t end) {
    std::string word(text.substr(begin, end - begin));
    for (char& c : word) c = static_cast<char>(lower_ascii(static_cast<unsigned char>(c)));
    words.push_back(std::move(word));
  });
  return words;
}

std::unique_ptr<FeatureExtractor> make_builtin_text_extractor(const FeaturesConfig& config) {
  return std::make_unique<BuiltinTextExtractor>(config.text_dim, config.text_hash_bits);
}

}  // namespace pixelrec::features
