// WordPiece tokenizer (BERT's, as Hugging Face tokenizers' BertNormalizer + BertPreTokenizer +
// WordPiece run it for sentence-transformers): cleaning, optional accent stripping and
// lowercasing, splitting on whitespace and punctuation, CJK characters as single tokens, then
// greedy longest-match-first sub-words with "##" continuations from a vocab.txt (one token a line).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pixelrec::features {

struct WordPieceOptions {
  bool lowercase = true;
  bool strip_accents = true;
  int max_length = 128;          // ids per text including [CLS] and [SEP]
  int max_chars_per_word = 100;  // longer words become [UNK]
};

struct TokenizedText {
  std::vector<int64_t> ids;   // [CLS] ... [SEP], then [PAD] up to max_length
  std::vector<int64_t> mask;  // 1 for real tokens, 0 for padding
};

class WordPieceTokenizer {
 public:
  // Throws Error when the vocab cannot be read or lacks [CLS], [SEP], [PAD] or [UNK].
  WordPieceTokenizer(const std::filesystem::path& vocab_file, WordPieceOptions options);
  WordPieceTokenizer(const std::vector<std::string>& vocab, WordPieceOptions options);

  // Basic tokens of a text (before sub-word splitting).
  std::vector<std::string> basic_tokenize(std::string_view text) const;
  // Sub-word ids of a text without special tokens or truncation.
  std::vector<int64_t> wordpiece_ids(std::string_view text) const;
  // The model input: truncated to max_length - 2 pieces, wrapped in [CLS]/[SEP], padded.
  TokenizedText encode(std::string_view text) const;

  int64_t cls_id() const { return cls_; }
  int64_t sep_id() const { return sep_; }
  int64_t pad_id() const { return pad_; }
  int64_t unk_id() const { return unk_; }

 private:
  void index_vocab(const std::vector<std::string>& vocab);
  bool split_word(const std::string& token, const std::vector<size_t>& starts,
                  std::string& candidate, std::vector<int64_t>& ids) const;

  WordPieceOptions options_;
  std::unordered_map<std::string, int64_t> vocab_;
  int64_t cls_ = -1, sep_ = -1, pad_ = -1, unk_ = -1;
};

}  // namespace pixelrec::features
