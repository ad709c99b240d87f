#include "hpo/protocol.h"

#include <cmath>

namespace pixelrec::hpo::protocol {

namespace {

const nlohmann::json& field(const nlohmann::json& message, const char* name, const char* expected) {
  const auto it = message.find(name);
  if (it == message.end()) {
    throw ProtocolError(code::kBadField, std::string("field '") + name + "' is missing; '" +
                                             type_of(message) + "' needs it (" + expected + ")");
  }
  return *it;
}

[[noreturn]] void ill_typed(const nlohmann::json& message, const char* name, const char* expected) {
  throw ProtocolError(code::kBadField, std::string("field '") + name + "' of '" + type_of(message) +
                                           "' must be " + expected + ", not " +
                                           message.at(name).type_name());
}

}  // namespace

nlohmann::json parse_line(std::string_view line) {
  nlohmann::json message = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object()) {
    throw ProtocolError(code::kBadJson, "a message must be one JSON object on one line; got '" +
                                            std::string(line.substr(0, 80)) +
                                            (line.size() > 80 ? "...'" : "'"));
  }
  const auto v = message.find("v");
  if (v == message.end() || !v->is_number_integer() || v->get<int64_t>() != kVersion) {
    throw ProtocolError(code::kVersion,
                        "protocol version " + (v == message.end() ? "missing" : v->dump()) +
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

}  // namespace pixelrec::hpo::protocol
