#include "hpo/param_value.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/errors.h"
#include "core/strings.h"

namespace pixelrec::hpo {

namespace {

std::string format_double(double v) {
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {  // whole: "10", never "1e+01"
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

bool is_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string_view drop_sign(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.remove_prefix(1);
  return s;
}

// YAML 1.2 core-schema float: [-+]?(digits(.digits?)?|.digits)([eE][-+]?digits)?
bool is_core_float(std::string_view s) {
  s = drop_sign(s);
  const size_t e = s.find_first_of("eE");
  if (e != std::string_view::npos && !is_digits(drop_sign(s.substr(e + 1)))) return false;
  const std::string_view mantissa = s.substr(0, e);
  const size_t dot = mantissa.find('.');
  if (dot == std::string_view::npos) return is_digits(mantissa);
  const std::string_view whole = mantissa.substr(0, dot), frac = mantissa.substr(dot + 1);
  return (whole.empty() || is_digits(whole)) && (frac.empty() || is_digits(frac)) &&
         !(whole.empty() && frac.empty());
}

}  // namespace

std::optional<ParamValue> yaml_scalar_value(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always text
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return std::nullopt;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (is_digits(drop_sign(s))) {
    if (const auto i = parse_int(s)) return *i;
  }
  if (is_core_float(s)) return *parse_double(s);
  return s;
}

std::string format_value(const ParamValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return format_double(*d);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  return std::get<std::string>(value);
}

double numeric_value(const ParamValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  const auto* d = std::get_if<double>(&value);
  PIXELREC_CHECK(d != nullptr, "numeric_value of a bool or string: " + format_value(value));
  return *d;
}

nlohmann::json params_to_json(const ParamMap& params) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, value] : params) {
    std::visit([&json, &name = name](const auto& v) { json[name] = v; }, value);
  }
  return json;
}

ParamMap params_from_json(const nlohmann::json& json) {
  if (!json.is_object()) {
    throw Error(std::string("parameters JSON must be an object {\"name\": value}, got ") +
                json.type_name() + "; send the params map written by params_to_json");
  }
  ParamMap params;
  for (const auto& [name, v] : json.items()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) {
      throw Error("parameters JSON: '" + name + "' is out of the int64 range; use a smaller value");
    } else if (v.is_number_integer()) {
      params[name] = v.get<int64_t>();
    } else if (v.is_number_float()) {
      params[name] = v.get<double>();
    } else if (v.is_boolean()) {
      params[name] = v.get<bool>();
    } else if (v.is_string()) {
      params[name] = v.get<std::string>();
    } else {
      throw Error("parameters JSON: '" + name + "' is " + v.type_name() +
                  "; each value must be a number, a bool or a string");
    }
  }
  return params;
}

}  // namespace pixelrec::hpo
