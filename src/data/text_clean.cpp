#include "data/text_clean.h"

#include <utf8proc.h>

#include <array>
#include <utility>

#include "core/strings.h"

namespace pixelrec {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

void append_utf8(std::string& out, char32_t cp) {
  utf8proc_uint8_t buf[4];
  const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

bool all_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

bool is_ascii_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = static_cast<char>(a[i] | 0x20), y = static_cast<char>(b[i] | 0x20);
    if (x != y) return false;
  }
  return true;
}

// Case-insensitive search for an ASCII `needle` in `hay` from `from`.
size_t ifind(std::string_view hay, std::string_view needle, size_t from) {
  for (size_t i = from; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

// Length of the valid UTF-8 sequence at `s[i]`, or the length of its maximal invalid prefix
// (at least 1) negated.
int utf8_sequence(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return 1;
  int len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    if (i + static_cast<size_t>(k) >= s.size()) return -k;
    const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
    if (c < lo || c > hi) return -k;
    lo = 0x80;
    hi = 0xBF;
  }
  return len;
}

struct NamedEntity {
  const char* name;
  char32_t code_point;
};

constexpr std::array<NamedEntity, 34> kEntities = {{
    {"amp", U'&'},      {"lt", U'<'},       {"gt", U'>'},       {"quot", U'"'},
    {"apos", U'\''},    {"nbsp", 0x00A0},   {"copy", 0x00A9},   {"reg", 0x00AE},
    {"trade", 0x2122},  {"hellip", 0x2026}, {"mdash", 0x2014},  {"ndash", 0x2013},
    {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"ldquo", 0x201C},  {"rdquo", 0x201D},
    {"laquo", 0x00AB},  {"raquo", 0x00BB},  {"euro", 0x20AC},   {"pound", 0x00A3},
    {"yen", 0x00A5},    {"cent", 0x00A2},   {"deg", 0x00B0},    {"middot", 0x00B7},
    {"bull", 0x2022},   {"times", 0x00D7},  {"divide", 0x00F7}, {"para", 0x00B6},
    {"sect", 0x00A7},   {"iexcl", 0x00A1},  {"iquest", 0x00BF}, {"shy", 0x00AD},
    {"plusmn", 0x00B1}, {"micro", 0x00B5},
}};

// Decodes the entity starting at `s[i]` ('&'); returns its length, or 0 when it is not one.
size_t decode_entity(std::string_view s, size_t i, std::string& out) {
  const size_t semi = s.find(';', i + 1);
  if (semi == std::string_view::npos || semi - i > 12) return 0;
  const std::string_view body = s.substr(i + 1, semi - i - 1);
  if (body.size() >= 2 && body[0] == '#') {
    const bool hex = body[1] == 'x' || body[1] == 'X';
    const std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    uint32_t value = 0;
    for (char c : digits) {
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        d = (c | 0x20) - 'a' + 10;
      else
        return 0;
      value = value * (hex ? 16u : 10u) + static_cast<uint32_t>(d);
      if (value > 0x10FFFF) value = 0x110000;  // saturate: invalid either way
    }
    const bool valid = value != 0 && value <= 0x10FFFF && (value < 0xD800 || value > 0xDFFF);
    append_utf8(out, valid ? static_cast<char32_t>(value) : kReplacement);
    return semi - i + 1;
  }
  for (const auto& e : kEntities) {
    if (body == e.name) {
      append_utf8(out, e.code_point);
      return semi - i + 1;
    }
  }
  return 0;
}

// Length of the tag, comment or script/style block starting at `s[i]` ('<'), or 0 when the '<'
// is plain text ("a < b").
size_t markup_length(std::string_view s, size_t i) {
  if (s.compare(i, 4, "<!--") == 0) {
    const size_t end = s.find("-->", i + 4);
    return end == std::string_view::npos ? s.size() - i : end + 3 - i;
  }
  if (i + 1 >= s.size()) return 0;
  const char next = s[i + 1];
  if (!is_ascii_alpha(next) && next != '/' && next != '!' && next != '?') return 0;
  const size_t close = s.find_first_of("<>", i + 1);
  if (close == std::string_view::npos || s[close] == '<') return 0;
  size_t name_end = i + 1;
  while (name_end < close && is_ascii_alpha(s[name_end])) ++name_end;
  const std::string_view name = s.substr(i + 1, name_end - i - 1);
  if (iequals(name, "script") || iequals(name, "style")) {
    const std::string closing = "</" + std::string(name);
    const size_t end_tag = ifind(s, closing, close + 1);
    if (end_tag == std::string_view::npos) return s.size() - i;
    const size_t end = s.find('>', end_tag);
    return (end == std::string_view::npos ? s.size() : end + 1) - i;
  }
  return close + 1 - i;
}

// Decodes the code point at `s[i]` of valid UTF-8; returns its byte length.
size_t decode_at(std::string_view s, size_t i, utf8proc_int32_t& cp) {
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                  static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
  if (n <= 0) {
    cp = kReplacement;
    return 1;
  }
  return static_cast<size_t>(n);
}

bool is_unicode_space(utf8proc_int32_t cp) {
  if (cp == 0x85) return true;  // NEL is a control character but breaks lines
  const auto category = utf8proc_category(cp);
  return category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL ||
         category == UTF8PROC_CATEGORY_ZP;
}

}  // namespace

bool is_missing_text(std::string_view text) {
  const std::string_view t = trim(text);
  return t.empty() || iequals(t, "nan") || iequals(t, "none") || iequals(t, "null");
}

bool repair_utf8(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  bool repaired = false;
  size_t i = 0;
  while (i < in.size()) {
    const int n = utf8_sequence(in, i);
    if (n > 0) {
      out.append(in, i, static_cast<size_t>(n));
      i += static_cast<size_t>(n);
    } else {
      append_utf8(out, kReplacement);
      i += static_cast<size_t>(-n);
      repaired = true;
    }
  }
  return repaired;
}

bool strip_html(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  bool found = false;
  for (size_t i = 0; i < in.size();) {
    const char c = in[i];
    size_t consumed = 0;
    if (c == '<' && (consumed = markup_length(in, i)) > 0) {
      out.push_back(' ');
    } else if (c == '&') {
      consumed = decode_entity(in, i, out);
    }
    if (consumed > 0) {
      found = true;
      i += consumed;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return found;
}

void normalize_nfkc(std::string_view in, std::string& out, std::vector<int32_t>& buffer) {
  if (all_ascii(in)) {  // ASCII is already in NFKC
    out.assign(in);
    return;
  }
  const auto options =
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  const auto* src = reinterpret_cast<const utf8proc_uint8_t*>(in.data());
  const auto len = static_cast<utf8proc_ssize_t>(in.size());
  if (buffer.size() < in.size() + 1) buffer.resize(in.size() + 1);
  auto n = utf8proc_decompose(src, len, buffer.data(),
                              static_cast<utf8proc_ssize_t>(buffer.size() - 1), options);
  if (n > static_cast<utf8proc_ssize_t>(buffer.size() - 1)) {
    buffer.resize(static_cast<size_t>(n) + 1);
    n = utf8proc_decompose(src, len, buffer.data(), n, options);
  }
  if (n < 0) {  // only on invalid UTF-8, which repair_utf8 has already removed
    out.assign(in);
    return;
  }
  // reencode writes UTF-8 over the code point buffer, plus a terminating NUL (hence the +1).
  const auto bytes = utf8proc_reencode(buffer.data(), n, options);
  out.assign(reinterpret_cast<const char*>(buffer.data()),
             bytes < 0 ? 0 : static_cast<size_t>(bytes));
}

void lowercase_utf8(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b));
      ++i;
      continue;
    }
    utf8proc_int32_t cp;
    i += decode_at(in, i, cp);
    append_utf8(out, static_cast<char32_t>(utf8proc_tolower(cp)));
  }
}

void collapse_whitespace(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  bool pending_space = false;
  for (size_t i = 0; i < in.size();) {
    const auto b = static_cast<unsigned char>(in[i]);
    size_t len = 1;
    bool space = is_ascii_space(b);
    if (b >= 0x80) {
      utf8proc_int32_t cp;
      len = decode_at(in, i, cp);
      space = is_unicode_space(cp);
    }
    if (space) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.append(in, i, len);
    }
    i += len;
  }
}

void display_text(std::string_view raw, std::string& out, std::string& scratch) {
  out.clear();
  if (is_missing_text(raw)) return;
  repair_utf8(raw, out);
  strip_html(out, scratch);
  collapse_whitespace(scratch, out);
}

TextCleanOutcome TextCleaner::clean(std::string_view raw, std::string& out) {
  TextCleanOutcome outcome;
  if (is_missing_text(raw)) {
    out.clear();
    outcome.missing = true;
    return outcome;
  }
  outcome.invalid_utf8_repaired = repair_utf8(raw, scratch_a_);
  std::string* current = &scratch_a_;
  std::string* next = &scratch_b_;
  if (config_.remove_html) {
    outcome.html_removed = strip_html(*current, *next);
    std::swap(current, next);
  }
  if (config_.normalize_unicode) {
    normalize_nfkc(*current, *next, codepoints_);
    std::swap(current, next);
  }
  if (config_.to_lowercase) {
    lowercase_utf8(*current, *next);
    std::swap(current, next);
  }
  collapse_whitespace(*current, out);
  return outcome;
}

}  // namespace pixelrec
