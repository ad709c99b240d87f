// best_config.yaml: a complete configuration that retrains a study's winner, i.e. a base config
// with the best trial's parameters applied. Shared by `pixelrec hpo run` and the coordinator.
#pragma once

#include <string>

#include "core/config.h"
#include "hpo/space.h"

namespace pixelrec::hpo {

// Why the parameters of `space` cannot be written as a config (a parameter that is not a config
// key path such as training.learning_rate), or "" when they can.
std::string best_config_blocker(const SearchSpace& space);

// `base` with every parameter of `params` applied as a config override (categorical values keep
// their YAML spelling: "1e-3" stays "1e-3"). Requires best_config_blocker(space) == "".
Config config_with_params(Config base, const SearchSpace& space, const ParamMap& params);

}  // namespace pixelrec::hpo
