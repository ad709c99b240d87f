// WordPiece tokenization (BERT's BasicTokenizer + WordpieceTokenizer) on a small hand-made vocab.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/errors.h"
#include "features/wordpiece.h"
#include "support/test_support.h"

namespace pixelrec::features {
namespace {

using Ids = std::vector<int64_t>;
using Tokens = std::vector<std::string>;

// ids are the indices: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 un=4 ##aff=5 ##able=6 hello=7 ...
const std::vector<std::string> kVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "hello", ",", "world",
    "!",     "caf",   "##e",   "中",    "国", "au",    "lait",   "«",     "»", "—"};

WordPieceTokenizer tokenizer(WordPieceOptions options = {}) { return {kVocab, options}; }

TEST(WordPiece, LowercasesAndStripsAccentsBeforeSplitting) {
  EXPECT_EQ(tokenizer().basic_tokenize("Café au LAIT"), (Tokens{"cafe", "au", "lait"}));
  EXPECT_EQ(tokenizer().wordpiece_ids("Café"), (Ids{11, 12}));  // caf ##e
  EXPECT_EQ(tokenizer().basic_tokenize("ÉCOLE"), (Tokens{"ecole"}));
}

TEST(WordPiece, KeepsAccentsOrCaseWhenAskedTo) {
  WordPieceOptions keep_accents;
  keep_accents.strip_accents = false;
  EXPECT_EQ(tokenizer(keep_accents).basic_tokenize("Café au LAIT"), (Tokens{"café", "au", "lait"}));
  EXPECT_EQ(tokenizer(keep_accents).wordpiece_ids("Café"), (Ids{1}));  // no piece for "é"
  WordPieceOptions cased;
  cased.lowercase = false;
  cased.strip_accents = false;
  EXPECT_EQ(tokenizer(cased).basic_tokenize("Café au LAIT"), (Tokens{"Café", "au", "LAIT"}));
}

TEST(WordPiece, SplitsAsciiAndUnicodePunctuationIntoTokens) {
  EXPECT_EQ(tokenizer().basic_tokenize("hello,world!"), (Tokens{"hello", ",", "world", "!"}));
  EXPECT_EQ(tokenizer().wordpiece_ids("hello,world!"), (Ids{7, 8, 9, 10}));
  EXPECT_EQ(tokenizer().basic_tokenize("«hello»—world"), (Tokens{"«", "hello", "»", "—", "world"}));
  EXPECT_EQ(tokenizer().basic_tokenize("a$b^c"), (Tokens{"a", "$", "b", "^", "c"}));
}

TEST(WordPiece, DropsControlCharactersAndSplitsOnAnyWhitespace) {
  EXPECT_EQ(tokenizer().basic_tokenize("hel\x01lo\tworld\n\u00A0au\u200B"),
            (Tokens{"hello", "world", "au"}));
}

// The cases where Hugging Face's BertNormalizer (sentence-transformers' tokenizer) differs from
// the original Python BertTokenizer; the expected tokens are what the tokenizers library gives.
TEST(WordPiece, CleansAndSplitsAsHuggingFaceTokenizersDoes) {
  EXPECT_EQ(tokenizer().basic_tokenize("hello\u2028world\u2029au"),
            (Tokens{"hello", "world", "au"}));  // line/paragraph separators are whitespace
  EXPECT_EQ(tokenizer().basic_tokenize("he\uE000llo wor\U000E0001ld"),
            (Tokens{"hello", "world"}));  // private use (Co) and format (Cf) dropped
  EXPECT_EQ(tokenizer().basic_tokenize("x\u0378y"), (Tokens{"x\u0378y"}));  // unassigned kept
}

TEST(WordPiece, StripsAccentsBeforeLowercasingWithTheFullLowercaseMapping) {
  EXPECT_EQ(tokenizer().basic_tokenize("\u0130stanbul"), (Tokens{"istanbul"}));
  WordPieceOptions keep_accents;
  keep_accents.strip_accents = false;
  EXPECT_EQ(tokenizer(keep_accents).basic_tokenize("\u0130stanbul"), (Tokens{"i\u0307stanbul"}));
}

TEST(WordPiece, SplitsGreedyLongestMatchFirstWithContinuations) {
  EXPECT_EQ(tokenizer().wordpiece_ids("unaffable"), (Ids{4, 5, 6}));  // un ##aff ##able
}

TEST(WordPiece, MapsAWordWithoutFullSegmentationToOneUnk) {
  EXPECT_EQ(tokenizer().wordpiece_ids("xyz"), (Ids{1}));
  EXPECT_EQ(tokenizer().wordpiece_ids("unaffablez hello"), (Ids{1, 7}));  // no partial pieces
}

TEST(WordPiece, MapsOverLongWordsToUnk) {
  WordPieceOptions options;
  options.max_chars_per_word = 5;
  EXPECT_EQ(tokenizer(options).wordpiece_ids("unaffable hello"), (Ids{1, 7}));
}

TEST(WordPiece, TreatsEachCjkIdeographAsAToken) {
  EXPECT_EQ(tokenizer().basic_tokenize("中国hello"), (Tokens{"中", "国", "hello"}));
  EXPECT_EQ(tokenizer().wordpiece_ids("中国hello"), (Ids{13, 14, 7}));
}

TEST(WordPiece, EncodeWrapsPadsAndMasks) {
  WordPieceOptions options;
  options.max_length = 8;
  const TokenizedText t = tokenizer(options).encode("hello world");
  EXPECT_EQ(t.ids, (Ids{2, 7, 9, 3, 0, 0, 0, 0}));
  EXPECT_EQ(t.mask, (Ids{1, 1, 1, 1, 0, 0, 0, 0}));
}

TEST(WordPiece, EncodeTruncatesToMaxLengthKeepingSep) {
  WordPieceOptions options;
  options.max_length = 5;
  const TokenizedText t = tokenizer(options).encode("hello world unaffable");
  EXPECT_EQ(t.ids, (Ids{2, 7, 9, 4, 3}));
  EXPECT_EQ(t.mask, (Ids{1, 1, 1, 1, 1}));
  const TokenizedText empty = tokenizer(options).encode("");
  EXPECT_EQ(empty.ids, (Ids{2, 3, 0, 0, 0}));
  EXPECT_EQ(empty.mask, (Ids{1, 1, 0, 0, 0}));
}

TEST(WordPiece, ReadsVocabFileWithIdsByLineIndex) {
  test::ScratchDir dir("wordpiece");
  test::write_text(dir / "vocab.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n##s\r\n");
  const WordPieceTokenizer t(dir / "vocab.txt", {});
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 1);
  EXPECT_EQ(t.cls_id(), 2);
  EXPECT_EQ(t.sep_id(), 3);
  EXPECT_EQ(t.wordpiece_ids("Hellos"), (Ids{4, 5}));
}

TEST(WordPiece, NamesTheFileAndTheMissingSpecialToken) {
  test::ScratchDir dir("wordpiece");
  const auto file = dir / "vocab.txt";
  test::write_text(file, "[PAD]\n[UNK]\n[CLS]\nhello\n");
  try {
    WordPieceTokenizer t(file, {});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "WordPiece vocab '" + file.string() +
                                         "' has no [SEP] token; use the vocab.txt that was "
                                         "exported with the model");
  }
  EXPECT_THROW(WordPieceTokenizer(dir / "missing.txt", {}), Error);
}

}  // namespace
}  // namespace pixelrec::features
