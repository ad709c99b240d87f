#include "hpo/protocol.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace pixelrec::hpo::protocol {

namespace {

const nlohmann::json& field(const nlohmann::json& message, const char* name, const char* expected) {
  const auto it = message.find(name);
  if (it == message.end()) {
    throw ProtocolError(code::kBadField, std::string("field '") + name + "' is missing; " +
                                             quote_client_text(type_of(message), 40) +
                                             " needs it (" + expected + ")");
  }
  return *it;
}

[[noreturn]] void ill_typed(const nlohmann::json& message, const char* name, const char* expected) {
  throw ProtocolError(code::kBadField, std::string("field '") + name + "' of " +
                                           quote_client_text(type_of(message), 40) + " must be " +
                                           expected + ", not " + message.at(name).type_name());
}

}  // namespace

std::string quote_client_text(std::string_view text, size_t max_bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "'";
  const size_t shown = std::min(text.size(), max_bytes);
  for (size_t k = 0; k < shown; ++k) {
    const auto c = static_cast<unsigned char>(text[k]);
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c >= 0x7f)
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    else
      out += char(c);
  }
  if (shown < text.size()) return out + "...' (" + std::to_string(text.size()) + " bytes)";
  return out + "'";
}

nlohmann::json parse_line(std::string_view line) {
  // The parser itself is iterative; the bounds stop it before a value exists that dump() or a
  // destructor would recurse through.
  size_t values = 0;
  const auto bounded = [&values](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start || event == Event::array_start || event == Event::value) {
      if (depth >= kMaxDepth)
        throw ProtocolError(code::kTooComplex,
                            "message nested deeper than " + std::to_string(kMaxDepth) + " levels");
      if (++values > kMaxElements)
        throw ProtocolError(code::kTooComplex,
                            "message with more than " + std::to_string(kMaxElements) + " values");
    }
    return true;
  };
  nlohmann::json message = nlohmann::json::parse(line, bounded, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object()) {
    throw ProtocolError(code::kBadJson, "a message must be one JSON object on one line; got " +
                                            quote_client_text(line));
  }
  const auto v = message.find("v");
  if (v == message.end() || !v->is_number_integer() || v->get<int64_t>() != kVersion) {
    throw ProtocolError(
        code::kVersion,
        "protocol version " +
            (v == message.end() ? std::string("missing") : quote_client_text(v->dump(), 40)) +
            "; this coordinator speaks \"v\": " + std::to_string(kVersion) +
            ": use a pixelrec worker of the same release");
  }
  const auto type = message.find("type");
  if (type == message.end() || !type->is_string()) {
    throw ProtocolError(code::kBadField, "field 'type' is missing or not a string");
  }
  return message;
}

std::string encode(const nlohmann::json& message) {
  // replace: invalid UTF-8 in a message (a worker's error text) must not throw.
  return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json make(std::string_view type) {
  return {{"v", kVersion}, {"type", std::string(type)}};
}

nlohmann::json make_error(std::string_view error_code, std::string_view message) {
  nlohmann::json m = make("error");
  m["code"] = std::string(error_code);
  m["message"] = std::string(message);
  return m;
}

const std::string& type_of(const nlohmann::json& message) {
  return message.at("type").get_ref<const std::string&>();
}

std::string get_string(const nlohmann::json& message, const char* name) {
  const nlohmann::json& f = field(message, name, "a string");
  if (!f.is_string()) ill_typed(message, name, "a string");
  return f.get<std::string>();
}

int64_t get_int(const nlohmann::json& message, const char* name) {
  const nlohmann::json& f = field(message, name, "an integer");
  if (!f.is_number_integer()) ill_typed(message, name, "an integer");
  return f.get<int64_t>();
}

double get_number_or_nan(const nlohmann::json& message, const char* name) {
  const nlohmann::json& f = field(message, name, "a number");
  if (f.is_null()) return std::nan("");
  if (!f.is_number()) ill_typed(message, name, "a number");
  return f.get<double>();
}

const nlohmann::json& get_object(const nlohmann::json& message, const char* name) {
  const nlohmann::json& f = field(message, name, "an object");
  if (!f.is_object()) ill_typed(message, name, "an object");
  return f;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

std::string random_key() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(std::string("getrandom failed: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  for (unsigned char b : bytes) {
    key += kHex[b >> 4];
    key += kHex[b & 15];
  }
  return key;
}

}  // namespace pixelrec::hpo::protocol
