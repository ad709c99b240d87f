// Text cleaning of titles, descriptions and tags (SPEC §3 step 2).
#include <gtest/gtest.h>

#include <string>

#include "data/text_clean.h"

namespace pixelrec {
namespace {

struct CleanCase {
  const char* raw;
  const char* cleaned;
};

std::string clean(const std::string& raw, TextCleaningConfig config = {},
                  TextCleanOutcome* outcome = nullptr) {
  TextCleaner cleaner(config);
  std::string out;
  const TextCleanOutcome o = cleaner.clean(raw, out);
  if (outcome) *outcome = o;
  return out;
}

TEST(TextClean, EveryStepOnByDefault) {
  const CleanCase cases[] = {
      {"<b>Bold</b> &amp; <br/>text", "bold & text"},
      {"caf&#233; &#xE9;t&#XE9;", "café été"},
      {"&#x4E2D;&#25991;", "中文"},
      {"&lt;b&gt; stays text", "<b> stays text"},
      {"a<script type='x'>var x = '<b>';</script>b", "a b"},
      {"<STYLE>p { color: red }</STYLE>Hi", "hi"},
      {"<!-- hidden -->shown", "shown"},
      {"a < b and c > d", "a < b and c > d"},
      {"Tom &unknown; &amp Jerry", "tom &unknown; &amp jerry"},
      {"&#0; &#xD800; &#x110000;", "\xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD"},
      {"ｆｕｌｌ①", "full1"},
      {"ÀÉÎ Straße", "àéî straße"},
      {"  many \t spaces\r\n and\nlines  ", "many spaces and lines"},
      {"no&nbsp;break\xE3\x80\x80ideographic", "no break ideographic"},
      {"Plain ASCII", "plain ascii"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(clean(c.raw), c.cleaned) << "raw: " << c.raw;
}

TEST(TextClean, ReportsHtmlOnlyWhenMarkupWasFound) {
  TextCleanOutcome outcome;
  clean("<i>x</i>", {}, &outcome);
  EXPECT_TRUE(outcome.html_removed);
  clean("&amp;", {}, &outcome);
  EXPECT_TRUE(outcome.html_removed);
  clean("5 < 6 & 7 > 2", {}, &outcome);
  EXPECT_FALSE(outcome.html_removed);
  EXPECT_FALSE(outcome.invalid_utf8_repaired);
  EXPECT_FALSE(outcome.missing);
}

TEST(TextClean, RepairsInvalidUtf8WithReplacementCharacters) {
  TextCleanOutcome outcome;
  EXPECT_EQ(clean("a\xC3\x28z", {}, &outcome), "a\xEF\xBF\xBD(z");
  EXPECT_TRUE(outcome.invalid_utf8_repaired);
  EXPECT_EQ(clean("\xFF\xFE ok", {}, &outcome), "\xEF\xBF\xBD\xEF\xBF\xBD ok");
  EXPECT_TRUE(outcome.invalid_utf8_repaired);
  // A truncated 3-byte sequence is one maximal subpart: one replacement character.
  EXPECT_EQ(clean("x\xE4\xB8", {}, &outcome), "x\xEF\xBF\xBD");
  // Encoded surrogates and overlong forms are invalid too.
  EXPECT_EQ(clean("\xED\xA0\x80", {}, &outcome), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(clean("\xC0\xAF", {}, &outcome), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(clean("valid é 中 😀", {}, &outcome), "valid é 中 😀");
  EXPECT_FALSE(outcome.invalid_utf8_repaired);
}

TEST(TextClean, RepairsInvalidUtf8EvenWithEveryFlagOff) {
  TextCleaningConfig off;
  off.remove_html = off.normalize_unicode = off.to_lowercase = false;
  TextCleanOutcome outcome;
  EXPECT_EQ(clean("A\xFF", off, &outcome), "A\xEF\xBF\xBD");
  EXPECT_TRUE(outcome.invalid_utf8_repaired);
}

TEST(TextClean, MissingPlaceholdersBecomeEmptyText) {
  for (const char* raw : {"nan", "NaN", "None", "null", "NULL", "  nan ", "", "   "}) {
    TextCleanOutcome outcome;
    EXPECT_EQ(clean(raw, {}, &outcome), "") << raw;
    EXPECT_TRUE(outcome.missing) << raw;
  }
  TextCleanOutcome outcome;
  EXPECT_EQ(clean("nano", {}, &outcome), "nano");
  EXPECT_FALSE(outcome.missing);
}

TEST(TextClean, HtmlFlagOffKeepsMarkup) {
  TextCleaningConfig config;
  config.remove_html = false;
  TextCleanOutcome outcome;
  EXPECT_EQ(clean("<b>X</b> &amp; Y", config, &outcome), "<b>x</b> &amp; y");
  EXPECT_FALSE(outcome.html_removed);
}

TEST(TextClean, UnicodeFlagOffKeepsCompatibilityCharacters) {
  TextCleaningConfig config;
  config.normalize_unicode = false;
  EXPECT_EQ(clean("ｆｕｌｌ①", config), "ｆｕｌｌ①");
}

TEST(TextClean, LowercaseFlagOffKeepsCase) {
  TextCleaningConfig config;
  config.to_lowercase = false;
  EXPECT_EQ(clean("ÀÉÎ <b>Straße</b>", config), "ÀÉÎ Straße");
}

TEST(TextClean, StepFunctionsWorkAlone) {
  std::string out;
  EXPECT_FALSE(strip_html("no markup", out));
  EXPECT_EQ(out, "no markup");
  EXPECT_TRUE(strip_html("x<br>y", out));
  EXPECT_EQ(out, "x y");
  std::vector<int32_t> buffer;
  normalize_nfkc("ﬁ ²", out, buffer);
  EXPECT_EQ(out, "fi 2");
  lowercase_utf8("ΑΒΓ Ä", out);
  EXPECT_EQ(out, "αβγ ä");
  collapse_whitespace(" \t a  b \n", out);
  EXPECT_EQ(out, "a b");
  EXPECT_TRUE(is_missing_text(" None "));
  EXPECT_FALSE(is_missing_text("n"));
}

}  // namespace
}  // namespace pixelrec
