// Text cleaning for item titles, descriptions and tags (SPEC §3 step 2): invalid UTF-8 repair
// (always), HTML tag/entity removal, Unicode NFKC and lowercasing (each behind its
// data.offline_text_cleaning flag), then whitespace collapsing. Buffers are reused between calls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace pixelrec {

// What cleaning one field found; the caller turns these into repairs.csv rows and report counts.
struct TextCleanOutcome {
  bool missing = false;                // empty, or a "nan"/"None"/"null" placeholder
  bool html_removed = false;           // a tag, comment or entity was removed or decoded
  bool invalid_utf8_repaired = false;  // invalid byte sequences became U+FFFD
};

class TextCleaner {
 public:
  explicit TextCleaner(const TextCleaningConfig& config) : config_(config) {}

  // Cleans `raw` into `out` (its capacity is reused).
  TextCleanOutcome clean(std::string_view raw, std::string& out);

 private:
  TextCleaningConfig config_;
  std::string scratch_a_;
  std::string scratch_b_;
  std::vector<int32_t> codepoints_;
};

// `raw` as people read it, for titles in recommendations: valid UTF-8, markup removed, entities
// decoded, whitespace collapsed; case and characters otherwise as written. Missing text gives "".
// `scratch` is reused between calls.
void display_text(std::string_view raw, std::string& out, std::string& scratch);

// True for text that stands for "no value": empty, blank, nan, none, null (any case).
bool is_missing_text(std::string_view text);

// Copies `in` to `out`, replacing each maximal invalid UTF-8 subsequence with U+FFFD
// (Unicode's "substitution of maximal subparts"). Returns true when anything was replaced.
bool repair_utf8(std::string_view in, std::string& out);

// Removes tags and comments (dropping <script>/<style> contents) and decodes named and numeric
// entities. A removed tag becomes a space so words never run together. Returns true when any
// tag, comment or entity was found.
bool strip_html(std::string_view in, std::string& out);

// NFKC normalisation of valid UTF-8; `buffer` is scratch space reused between calls.
void normalize_nfkc(std::string_view in, std::string& out, std::vector<int32_t>& buffer);

// Unicode-aware lowercasing of valid UTF-8, one code point at a time.
void lowercase_utf8(std::string_view in, std::string& out);

// Collapses runs of Unicode whitespace to one ASCII space and trims both ends.
void collapse_whitespace(std::string_view in, std::string& out);

}  // namespace pixelrec
