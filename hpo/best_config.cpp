#include "hpo/best_config.h"

#include <vector>

#include "core/config_loader.h"
#include "core/config_schema.h"

namespace pixelrec::hpo {

namespace {

// The text a parameter's value is written as in a config override: a categorical choice keeps its
// YAML spelling.
std::string override_text(const ParamSpec& spec, const ParamValue& value) {
  if (!spec.is_numeric()) {
    const int i = spec.choice_index(value);
    if (i >= 0) return spec.choices[static_cast<size_t>(i)].text;
  }
  return format_value(value);
}

}  // namespace

std::string best_config_blocker(const SearchSpace& space) {
  for (const ParamSpec& spec : space.params()) {
    if (!find_config_field(spec.name)) {
      return "parameter '" + spec.name +
             "' is not a config key path (such as training.learning_rate), so the winner cannot "
             "be written as a config";
    }
  }
  return "";
}

Config config_with_params(Config base, const SearchSpace& space, const ParamMap& params) {
  std::vector<std::string> warnings;
  for (const auto& [name, value] : params) {
    apply_config_override(base, name + "=" + override_text(*space.find(name), value),
                          /*strict=*/true, warnings);
  }
  return base;
}

}  // namespace pixelrec::hpo
