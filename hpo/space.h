// Search spaces for hyperparameter search: the YAML `search_space` mapping (float / int /
// categorical parameters, log scale, step grids, conditions) parsed and validated into typed
// specs; a sampler walks them in definition order to build a trial's parameters.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "hpo/param_value.h"

namespace pixelrec {
struct HyperparameterSearchConfig;
}

namespace pixelrec::hpo {

enum class Direction { kMinimize, kMaximize };

// "minimize" | "maximize"; anything else throws ConfigError naming `key`.
Direction parse_direction(const std::string& text, const std::string& key);
std::string_view to_string(Direction direction);

// True when `a` is strictly better than `b` under `direction`.
inline bool is_better(Direction direction, double a, double b) {
  return direction == Direction::kMinimize ? a < b : a > b;
}

enum class ParamType { kFloat, kInt, kCategorical };
std::string_view to_string(ParamType type);

// A categorical choice: its typed value and the YAML text it was written as (kept for
// best_config.yaml, so "1e-3" stays "1e-3").
struct Choice {
  ParamValue value;
  std::string text;
};

// `param` must currently hold exactly `value` for the owning parameter to be active.
struct Condition {
  std::string param;
  ParamValue value;
};

struct ParamSpec {
  std::string name;  // may be a config key path: "training.learning_rate"
  ParamType type = ParamType::kFloat;
  double low = 0.0;  // float and int bounds, both inclusive
  double high = 0.0;
  bool log = false;
  double step = 0.0;  // grid step; 0 means continuous (floats only), ints have step >= 1
  std::vector<Choice> choices;
  std::vector<Condition> conditions;

  bool is_numeric() const { return type != ParamType::kCategorical; }
  // Ints and stepped floats take values on the grid low, low + step, ..., high.
  bool is_discrete() const { return type == ParamType::kInt || step > 0.0; }
  // Position of `value` among the choices, or -1.
  int choice_index(const ParamValue& value) const;
  // The value a sampler's number stands for: a rounded int64_t, a double, or choices[index].
  ParamValue to_value(double internal) const;
};

class SearchSpace {
 public:
  // Parses the `search_space` mapping. `source` names it in error messages ("space.yaml",
  // "hyperparameter_search.search_space"). Throws ConfigError naming the parameter and the fix.
  static SearchSpace parse(const YAML::Node& search_space, Direction direction,
                           const std::string& source);
  // A space file: {search_space: {...}, direction: minimize|maximize (default maximize)}.
  static SearchSpace parse_file(const YAML::Node& root, const std::string& source);
  // The config's hyperparameter_search.search_space with hyperparameter_search.direction.
  static SearchSpace from_config(const HyperparameterSearchConfig& config);

  const std::vector<ParamSpec>& params() const { return params_; }
  Direction direction() const { return direction_; }
  const ParamSpec* find(std::string_view name) const;

  // True when every condition of `spec` holds in `chosen` (the values picked so far).
  static bool is_active(const ParamSpec& spec, const ParamMap& chosen);

 private:
  std::vector<ParamSpec> params_;  // in definition order: conditions only look backwards
  Direction direction_ = Direction::kMaximize;
};

}  // namespace pixelrec::hpo
