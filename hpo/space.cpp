#include "hpo/space.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>

#include "core/config.h"
#include "core/config_reference_compat.h"
#include "core/errors.h"
#include "core/strings.h"

namespace pixelrec::hpo {

Direction parse_direction(const std::string& text, const std::string& key) {
  if (text == "minimize") return Direction::kMinimize;
  if (text == "maximize") return Direction::kMaximize;
  throw ConfigError("invalid value for " + key + ": '" + text + "'; allowed: minimize, maximize");
}

std::string_view to_string(Direction direction) {
  return direction == Direction::kMinimize ? "minimize" : "maximize";
}

std::string_view to_string(ParamType type) {
  switch (type) {
    case ParamType::kFloat:
      return "float";
    case ParamType::kInt:
      return "int";
    case ParamType::kCategorical:
      return "categorical";
  }
  return "?";
}

int ParamSpec::choice_index(const ParamValue& value) const {
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i].value == value) return static_cast<int>(i);
  }
  return -1;
}

ParamValue ParamSpec::to_value(double internal) const {
  switch (type) {
    case ParamType::kInt:
      return static_cast<int64_t>(std::llround(internal));
    case ParamType::kFloat:
      return internal;
    case ParamType::kCategorical:
      break;
  }
  const auto index = static_cast<size_t>(internal);
  PIXELREC_CHECK(index < choices.size(), "choice index out of range for " + name);
  return choices[index].value;
}

const ParamSpec* SearchSpace::find(std::string_view name) const {
  for (const ParamSpec& spec : params_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool SearchSpace::is_active(const ParamSpec& spec, const ParamMap& chosen) {
  for (const Condition& condition : spec.conditions) {
    const auto it = chosen.find(condition.param);
    if (it == chosen.end() || it->second != condition.value) return false;
  }
  return true;
}

namespace {

// For computed numbers in hints, where 3 * 0.3 should read 0.9.
std::string format_rounded(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

std::string render(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

bool is_number(const ParamValue& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}

const std::vector<std::string> kSpecKeys = {"type", "low",     "high",     "log",
                                            "step", "choices", "condition"};

// Parses one search_space mapping; each parameter may only be conditioned on earlier ones.
class SpaceParser {
 public:
  SpaceParser(const YAML::Node& space, std::string source)
      : space_(space), source_(std::move(source)) {}

  std::vector<ParamSpec> parse() {
    if (!space_.IsDefined() || space_.IsNull() || (space_.IsMap() && space_.size() == 0)) {
      throw ConfigError(source_ + ": the search space is empty; add parameters such as " +
                        "training.learning_rate: {type: float, low: 1.0e-5, high: 1.0e-2, " +
                        "log: true}");
    }
    if (!space_.IsMap()) {
      throw ConfigError(source_ + ": expected a mapping of parameter name to {type, low, ...}, " +
                        "got '" + render(space_) + "'; write one parameter per key");
    }
    for (const auto& kv : space_) {
      const std::string name = kv.first.as<std::string>();
      if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
        fail(name, "defined twice; keep one definition");
      }
      names_.push_back(name);
    }
    for (const auto& kv : space_) {
      parsed_.push_back(parse_param(kv.first.as<std::string>(), kv.second));
    }
    return std::move(parsed_);
  }

 private:
  [[noreturn]] void fail(const std::string& param, const std::string& problem) const {
    throw ConfigError(source_ + ": parameter '" + param + "': " + problem);
  }

  static std::string hint(const std::string& word, const std::vector<std::string>& candidates) {
    const auto match = closest_match(word, candidates);
    return match ? " (did you mean '" + *match + "'?)" : "";
  }

  ParamSpec parse_param(const std::string& name, const YAML::Node& node) const {
    if (!node.IsMap()) {
      fail(name, "expected a mapping such as {type: float, low: 0.0, high: 1.0}, got '" +
                     render(node) + "'");
    }
    ParamSpec spec;
    spec.name = name;
    spec.type = parse_type(name, node["type"]);
    check_keys(spec, node);
    if (spec.type == ParamType::kCategorical) {
      parse_choices(spec, node["choices"]);
    } else {
      parse_bounds(spec, node);
    }
    parse_conditions(spec, node["condition"]);
    return spec;
  }

  ParamType parse_type(const std::string& name, const YAML::Node& node) const {
    if (!node) fail(name, "missing 'type'; add type: float, int or categorical");
    const std::string text = render(node);
    if (text == "float") return ParamType::kFloat;
    if (text == "int") return ParamType::kInt;
    if (text == "categorical") return ParamType::kCategorical;
    fail(name, "unknown type '" + text + "'" + hint(text, {"float", "int", "categorical"}) +
                   "; use float, int or categorical");
  }

  void check_keys(const ParamSpec& spec, const YAML::Node& node) const {
    const bool categorical = spec.type == ParamType::kCategorical;
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (std::find(kSpecKeys.begin(), kSpecKeys.end(), key) == kSpecKeys.end()) {
        fail(spec.name, "unknown key '" + key + "'" + hint(key, kSpecKeys) +
                            "; allowed keys: " + join(kSpecKeys, ", "));
      }
      const bool numeric_key = key == "low" || key == "high" || key == "log" || key == "step";
      if (categorical && numeric_key) {
        fail(spec.name, "'" + key + "' does not apply to a categorical parameter; remove it");
      }
      if (!categorical && key == "choices") {
        fail(spec.name, std::string("'choices' applies only to categorical parameters; ") +
                            "remove it or set type: categorical");
      }
    }
  }

  double number(const ParamSpec& spec, const YAML::Node& node, const std::string& key) const {
    if (!node) fail(spec.name, "missing '" + key + "'; float and int parameters need low and high");
    const std::optional<ParamValue> value = yaml_scalar_value(node);
    if (spec.type == ParamType::kInt) {
      constexpr int64_t kExact = int64_t{1} << 53;  // int bounds must be exact as doubles
      const auto* i = value ? std::get_if<int64_t>(&*value) : nullptr;
      if (!i || std::llabs(*i) > kExact) {
        fail(spec.name, "'" + key + "' must be an integer for an int parameter (got '" +
                            render(node) + "'); write a whole number");
      }
      return static_cast<double>(*i);
    }
    if (!value || !is_number(*value)) {
      fail(spec.name, "'" + key + "' must be a number (got '" + render(node) + "')");
    }
    return numeric_value(*value);
  }

  void parse_bounds(ParamSpec& spec, const YAML::Node& node) const {
    spec.low = number(spec, node["low"], "low");
    spec.high = number(spec, node["high"], "high");
    if (!(spec.low < spec.high)) {
      fail(spec.name, "low (" + format_value(spec.low) + ") must be less than high (" +
                          format_value(spec.high) + "); swap them or widen the range");
    }
    if (const YAML::Node log = node["log"]) {
      const std::optional<ParamValue> value = yaml_scalar_value(log);
      if (!value || !std::holds_alternative<bool>(*value)) {
        fail(spec.name, "'log' must be true or false (got '" + render(log) + "')");
      }
      spec.log = std::get<bool>(*value);
    }
    if (spec.log && spec.low <= 0.0) {
      fail(spec.name, "log: true needs low > 0 (got " + format_value(spec.low) +
                          "); raise low or set log: false");
    }
    spec.step = spec.type == ParamType::kInt ? 1.0 : 0.0;
    if (const YAML::Node step = node["step"]) parse_step(spec, step);
  }

  void parse_step(ParamSpec& spec, const YAML::Node& node) const {
    spec.step = number(spec, node, "step");
    if (spec.step <= 0.0) {
      fail(spec.name, "'step' must be positive (got " + format_value(spec.step) + ")");
    }
    if (spec.log && spec.type == ParamType::kFloat) {
      fail(spec.name, "step and log: true cannot be combined for a float parameter; remove one");
    }
    if (spec.log && spec.step != 1.0) {
      fail(spec.name, "log: true for an int parameter needs step 1 (got " +
                          format_value(spec.step) + "); remove step or log");
    }
    const double intervals = (spec.high - spec.low) / spec.step;
    const double whole = std::floor(intervals + 0.5);
    if (std::fabs(intervals - whole) > 1e-9 * std::max(1.0, whole)) {
      const double fitted_high = spec.low + std::floor(intervals) * spec.step;
      fail(spec.name, "step " + format_value(spec.step) + " does not divide the range [" +
                          format_value(spec.low) + ", " + format_value(spec.high) +
                          "]; use a step that divides high - low, or set high to " +
                          format_rounded(fitted_high));
    }
  }

  void parse_choices(ParamSpec& spec, const YAML::Node& node) const {
    if (!node) fail(spec.name, "missing 'choices'; list the values, e.g. choices: [adam, sgd]");
    if (!node.IsSequence()) {
      fail(spec.name, "'choices' must be a list such as [adam, sgd], got '" + render(node) + "'");
    }
    if (node.size() == 0) fail(spec.name, "'choices' is empty; list at least one value");
    for (const auto& item : node) {
      std::optional<ParamValue> value = yaml_scalar_value(item);
      if (!value) {
        fail(spec.name, "choice '" + render(item) +
                            "' is not a string, number or bool; quote it to use it as text");
      }
      Choice choice{std::move(*value), item.Scalar()};
      if (spec.choice_index(choice.value) >= 0) {
        fail(spec.name, "choice '" + choice.text + "' appears twice; list each choice once");
      }
      spec.choices.push_back(std::move(choice));
    }
  }

  void parse_conditions(ParamSpec& spec, const YAML::Node& node) const {
    if (!node) return;
    if (!node.IsMap() || node.size() == 0) {
      fail(spec.name, std::string("'condition' must be a mapping {param: value}, ") +
                          "e.g. condition: {training.optimizer: sgd}");
    }
    for (const auto& kv : node) {
      const std::string parent_name = kv.first.as<std::string>();
      spec.conditions.push_back({parent_name, condition_value(spec, parent_name, kv.second)});
    }
  }

  const ParamSpec& condition_parent(const ParamSpec& spec, const std::string& parent) const {
    for (const ParamSpec& earlier : parsed_) {
      if (earlier.name == parent) return earlier;
    }
    if (parent == spec.name) fail(spec.name, "the condition names the parameter itself");
    if (std::find(names_.begin(), names_.end(), parent) != names_.end()) {
      fail(spec.name, "condition on '" + parent + "', which is defined after it; move '" +
                          spec.name + "' below '" + parent + "'");
    }
    fail(spec.name, "condition on unknown parameter '" + parent + "'" + hint(parent, names_) +
                        "; a condition must name a parameter defined above it");
  }

  ParamValue condition_value(const ParamSpec& spec, const std::string& parent_name,
                             const YAML::Node& node) const {
    const ParamSpec& parent = condition_parent(spec, parent_name);
    const std::string where = "condition value '" + render(node) + "' for '" + parent_name + "'";
    const std::optional<ParamValue> value = yaml_scalar_value(node);
    if (!value) fail(spec.name, where + " must be a single string, number or bool");
    if (parent.type == ParamType::kCategorical) {
      if (parent.choice_index(*value) >= 0) return *value;
      std::vector<std::string> texts;
      for (const Choice& c : parent.choices) texts.push_back(c.text);
      fail(spec.name,
           where + " is not one of its choices (" + join(texts, ", ") + "); use one of them");
    }
    const bool ok_kind = std::holds_alternative<int64_t>(*value) ||
                         (is_number(*value) && parent.type == ParamType::kFloat);
    if (!ok_kind) {
      fail(spec.name, where + " must be a number of type " + std::string(to_string(parent.type)));
    }
    const double v = numeric_value(*value);
    if (v < parent.low || v > parent.high) {
      fail(spec.name, where + " is outside its range [" + format_value(parent.low) + ", " +
                          format_value(parent.high) + "]; the parameter would never be active");
    }
    const double k = parent.is_discrete() ? (v - parent.low) / parent.step : 0.0;
    if (std::fabs(k - std::round(k)) > 1e-9) {
      fail(spec.name, where + " is not on its grid (step " + format_value(parent.step) + " from " +
                          format_value(parent.low) + "); the parameter would never be active");
    }
    if (parent.type == ParamType::kFloat) return v;
    return *value;
  }

  const YAML::Node& space_;
  std::string source_;
  std::vector<std::string> names_;
  std::vector<ParamSpec> parsed_;
};

}  // namespace

SearchSpace SearchSpace::parse(const YAML::Node& search_space, Direction direction,
                               const std::string& source) {
  SearchSpace space;
  space.params_ = SpaceParser(search_space, source).parse();
  space.direction_ = direction;
  return space;
}

SearchSpace SearchSpace::parse_file(const YAML::Node& root, const std::string& source) {
  const std::vector<std::string> keys = {"search_space", "direction"};
  if (!root.IsMap()) {
    throw ConfigError(source + ": expected a mapping with 'search_space' and 'direction', got '" +
                      render(root) + "'");
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      const auto match = closest_match(key, keys);
      throw ConfigError(source + ": unknown key '" + key + "'" +
                        (match ? " (did you mean '" + *match + "'?)" : "") +
                        "; a space file holds only search_space and direction");
    }
  }
  Direction direction = Direction::kMaximize;
  if (const YAML::Node d = root["direction"]) {
    direction = parse_direction(render(d), source + ": direction");
  }
  // Reference parameter names (learning_rate) become the config key paths they set.
  return parse(canonical_search_space(root["search_space"], source + ": search_space"), direction,
               source + ": search_space");
}

SearchSpace SearchSpace::from_config(const HyperparameterSearchConfig& config) {
  return parse(config.search_space,
               parse_direction(config.direction, "hyperparameter_search.direction"),
               "hyperparameter_search.search_space");
}

}  // namespace pixelrec::hpo
