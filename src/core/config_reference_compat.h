// The reference framework's spellings (joacodef/pixelrec_multimodal: src/config.py, its example
// configs and README): keys the project names differently, and values it spells differently.
// Each loads with its meaning onto the project's key; a reference key the project has no use for
// loads with a warning that says why (docs/configuration.md, "Reference spellings").
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/config_schema.h"

namespace pixelrec {

// The reference's keys that are not project keys (hyperparameter_search.metric, enable_pruning,
// data.image_compression_config.*, ...), bound onto `project` (the project's own fields).
std::vector<FieldSpec> reference_compat_fields(const std::vector<FieldSpec>& project);

// A search space whose reference parameter names (learning_rate, fusion_type: the leaf of exactly
// one model.* or training.* key) are renamed to the config key paths they set
// (training.learning_rate, model.fusion_type), in conditions too. Other names stay as written.
// `source` names the space in errors.
YAML::Node canonical_search_space(const YAML::Node& space,
                                  const std::string& source = "hyperparameter_search.search_space");

}  // namespace pixelrec
