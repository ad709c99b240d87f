#include "report/html.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace pixelrec::report {

std::string format_number(double value) {
  if (std::isnan(value)) return "\u2014";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0) return "0";
  const double magnitude = std::fabs(value);
  char buf[64];
  if (magnitude >= 1e4 && magnitude < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);  // counts, rates: no exponent
  } else if (magnitude >= 1e-3 && magnitude < 1e4) {
    std::snprintf(buf, sizeof buf, "%.4g", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", value);  // p-values and other tiny numbers
  }
  return buf;
}

std::string exact_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

std::string number_cell(double value, std::string_view css_class) {
  std::string cell = "<td class=\"num";
  if (!css_class.empty()) cell += " " + std::string(css_class);
  cell += "\" title=\"" + exact_number(value) + "\">" + format_number(value) + "</td>";
  return cell;
}

std::string script_safe_json(const nlohmann::json& value) {
  const std::string text = value.dump();
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    // These characters can only appear inside JSON strings, where \u escapes are equivalent.
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace pixelrec::report
