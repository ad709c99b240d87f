// Parameter values of a trial: a typed variant per parameter name, read from YAML scalars, written
// as shortest text (logs, PIXELREC_PARAM_* variables) and as JSON (storage, worker protocol).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

namespace pixelrec::hpo {

// Int parameters hold int64_t, float parameters double, categorical parameters the typed value
// of the chosen YAML scalar (a string, an integer, a float or a bool). Build strings as
// std::string: a bare string literal would convert to bool.
using ParamValue = std::variant<int64_t, double, bool, std::string>;

// A trial's parameters by name; inactive conditional parameters are absent.
using ParamMap = std::map<std::string, ParamValue>;

// The typed value of a YAML scalar under the YAML 1.2 core schema (yaml-cpp leaves plain scalars
// untyped): quoted scalars are strings; true/false (any case style) bools; integers int64_t;
// decimals and exponents double; anything else a string. nullopt for null and non-scalars.
std::optional<ParamValue> yaml_scalar_value(const YAML::Node& node);

// Shortest text that reads back to the same value ("0.001", "64", "10", "true", "adam").
std::string format_value(const ParamValue& value);

// int64_t or double as a double; PIXELREC_CHECK fails for bools and strings.
double numeric_value(const ParamValue& value);

// {"name": value, ...} with JSON integers, floats, bools and strings.
nlohmann::json params_to_json(const ParamMap& params);
// The inverse of params_to_json; throws Error for values that are not scalars.
ParamMap params_from_json(const nlohmann::json& json);

}  // namespace pixelrec::hpo
