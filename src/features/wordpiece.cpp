#include "features/wordpiece.h"

#include <utf8proc.h>

#include <algorithm>
#include <fstream>
#include <utility>

#include "core/errors.h"

namespace pixelrec::features {

namespace {

using Codepoint = utf8proc_int32_t;

constexpr const char* kSpecialTokens[] = {"[CLS]", "[SEP]", "[PAD]", "[UNK]"};

// Decodes UTF-8 into code points; an invalid byte becomes U+FFFD (then dropped by cleaning).
std::vector<Codepoint> decode(std::string_view text) {
  std::vector<Codepoint> out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  auto left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    Codepoint cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) {
      n = 1;
      cp = 0xFFFD;
    }
    out.push_back(cp);
    p += n;
    left -= n;
  }
  return out;
}

void append_utf8(Codepoint cp, std::string& out) {
  utf8proc_uint8_t buf[4];
  const auto n = utf8proc_encode_char(cp, buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

// Hugging Face tokenizers' BertNormalizer (what sentence-transformers runs): tab, LF, CR and the
// Unicode White_Space characters left after cleaning (Zs, line and paragraph separators).
bool is_whitespace(Codepoint cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  const auto category = utf8proc_category(cp);
  return category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL ||
         category == UTF8PROC_CATEGORY_ZP;
}

// Dropped while cleaning: control, format and private-use characters (Cc, Cf, Co), except the
// whitespace controls; unassigned code points are kept, as BertNormalizer keeps them.
bool is_control(Codepoint cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  const auto category = utf8proc_category(cp);
  return category == UTF8PROC_CATEGORY_CC || category == UTF8PROC_CATEGORY_CF ||
         category == UTF8PROC_CATEGORY_CO;
}

// BERT counts every non-alphanumeric ASCII symbol (e.g. "$", "^", "`") as punctuation.
bool is_punctuation(Codepoint cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126))
    return true;
  const auto category = utf8proc_category(cp);
  return category >= UTF8PROC_CATEGORY_PC && category <= UTF8PROC_CATEGORY_PO;
}

// The CJK Unified Ideographs blocks (not Hangul or kana, which are space-separated).
bool is_cjk(Codepoint cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// NFD decomposition without combining marks (category Mn).
void strip_accents(Codepoint cp, std::vector<Codepoint>& out) {
  Codepoint buf[8];
  int last_class = 0;
  const auto n = utf8proc_decompose_char(cp, buf, 8, UTF8PROC_DECOMPOSE, &last_class);
  if (n <= 0 || n > 8) {
    out.push_back(cp);
    return;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i)
    if (utf8proc_category(buf[i]) != UTF8PROC_CATEGORY_MN) out.push_back(buf[i]);
}

// Full lowercase mapping: U+0130 (I with dot above) is the one code point whose lowercase is two.
void lowercase(Codepoint cp, std::vector<Codepoint>& out) {
  if (cp == 0x130) {
    out.push_back('i');
    out.push_back(0x307);
    return;
  }
  out.push_back(utf8proc_tolower(cp));
}

// Appends the code points gathered so far as one token and starts a new one.
void flush_word(std::vector<Codepoint>& word, std::vector<std::string>& tokens) {
  if (word.empty()) return;
  std::string token;
  for (Codepoint cp : word) append_utf8(cp, token);
  tokens.push_back(std::move(token));
  word.clear();
}

std::vector<std::string> read_vocab_lines(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw Error("cannot read WordPiece vocab '" + file.string() +
                "'; point the backbone's vocab file at a BERT-style vocab.txt (one token a line)");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(const std::filesystem::path& vocab_file,
                                       WordPieceOptions options)
    : options_(options) {
  const auto lines = read_vocab_lines(vocab_file);
  index_vocab(lines);
  for (const char* special : kSpecialTokens)
    if (!vocab_.count(special))
      throw Error("WordPiece vocab '" + vocab_file.string() + "' has no " + special +
                  " token; use the vocab.txt that was exported with the model");
}

WordPieceTokenizer::WordPieceTokenizer(const std::vector<std::string>& vocab,
                                       WordPieceOptions options)
    : options_(options) {
  index_vocab(vocab);
  for (const char* special : kSpecialTokens)
    if (!vocab_.count(special))
      throw Error(std::string("WordPiece vocab (in memory) has no ") + special +
                  " token; add it to the vocabulary");
}

void WordPieceTokenizer::index_vocab(const std::vector<std::string>& vocab) {
  PIXELREC_CHECK(options_.max_length >= 2, "max_length must leave room for [CLS] and [SEP]");
  vocab_.reserve(vocab.size());
  // Like BERT's load_vocab, a repeated token takes the id of its last line.
  for (size_t i = 0; i < vocab.size(); ++i) vocab_[vocab[i]] = static_cast<int64_t>(i);
  const auto id = [&](const char* token) {
    const auto it = vocab_.find(token);
    return it == vocab_.end() ? int64_t{-1} : it->second;
  };
  cls_ = id("[CLS]");
  sep_ = id("[SEP]");
  pad_ = id("[PAD]");
  unk_ = id("[UNK]");
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(std::string_view text) const {
  std::vector<std::string> tokens;
  std::vector<Codepoint> word, stripped, normalised;
  for (Codepoint cp : decode(text)) {
    if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
    if (is_whitespace(cp)) {
      flush_word(word, tokens);
      continue;
    }
    // BertNormalizer's order: accents are stripped first, then the result is lowercased.
    stripped.clear();
    if (options_.strip_accents)
      strip_accents(cp, stripped);
    else
      stripped.push_back(cp);
    normalised.clear();
    for (Codepoint c : stripped) {
      if (options_.lowercase)
        lowercase(c, normalised);
      else
        normalised.push_back(c);
    }
    if (is_cjk(cp)) {  // an ideograph is a token of its own, whatever it normalises to
      flush_word(word, tokens);
      word = normalised;
      flush_word(word, tokens);
      continue;
    }
    for (Codepoint c : normalised) {
      if (is_punctuation(c)) {
        flush_word(word, tokens);
        word.push_back(c);
        flush_word(word, tokens);
      } else {
        word.push_back(c);
      }
    }
  }
  flush_word(word, tokens);
  return tokens;
}

// Greedy longest-match-first over the code points of one basic token; false when some suffix
// matches no piece (the whole word then becomes [UNK], as in BERT).
bool WordPieceTokenizer::split_word(const std::string& token, const std::vector<size_t>& starts,
                                    std::string& candidate, std::vector<int64_t>& ids) const {
  const size_t chars = starts.size() - 1;
  for (size_t start = 0; start < chars;) {
    int64_t found = -1;
    size_t end = chars;
    for (; end > start; --end) {
      candidate.assign(start > 0 ? "##" : "");
      candidate.append(token, starts[start], starts[end] - starts[start]);
      const auto it = vocab_.find(candidate);
      if (it != vocab_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) return false;
    ids.push_back(found);
    start = end;
  }
  return true;
}

std::vector<int64_t> WordPieceTokenizer::wordpiece_ids(std::string_view text) const {
  std::vector<int64_t> ids;
  std::vector<size_t> starts;  // byte offset of each code point, then the token's end
  std::string candidate;
  for (const std::string& token : basic_tokenize(text)) {
    starts.clear();
    for (size_t i = 0; i < token.size(); ++i)
      if ((static_cast<unsigned char>(token[i]) & 0xC0) != 0x80) starts.push_back(i);
    starts.push_back(token.size());
    const size_t word_begin = ids.size();
    const bool too_long = starts.size() - 1 > static_cast<size_t>(options_.max_chars_per_word);
    if (too_long || !split_word(token, starts, candidate, ids)) {
      ids.resize(word_begin);
      ids.push_back(unk_);
    }
  }
  return ids;
}

TokenizedText WordPieceTokenizer::encode(std::string_view text) const {
  const auto pieces = wordpiece_ids(text);
  const auto length = static_cast<size_t>(options_.max_length);
  const size_t kept = std::min(pieces.size(), length - 2);
  TokenizedText out;
  out.ids.assign(length, pad_);
  out.mask.assign(length, 0);
  out.ids[0] = cls_;
  std::copy_n(pieces.begin(), kept, out.ids.begin() + 1);
  out.ids[kept + 1] = sep_;
  std::fill_n(out.mask.begin(), kept + 2, 1);
  return out;
}

}  // namespace pixelrec::features
