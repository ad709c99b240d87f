// Loading configuration: YAML files merged in order, then `--set key.path=value` overrides.
// Unknown keys warn with the closest known key (errors under strict), bad values throw
// ConfigError with key path, value and what is allowed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"

namespace pixelrec {

struct ConfigSources {
  std::vector<std::string> files;      // --config, in order; later files override earlier ones
  std::vector<std::string> overrides;  // --set key.path=value, applied last
  bool strict = false;                 // unknown keys become errors instead of warnings
};

struct LoadedConfig {
  Config config;
  std::vector<std::string> warnings;  // also logged as they are found
};

LoadedConfig load_config(const ConfigSources& sources);

// Applies one YAML document; `source` names it in messages (a file name, "<string>").
void apply_config_yaml(Config& config, const std::string& yaml_text, const std::string& source,
                       bool strict, std::vector<std::string>& warnings);

// Applies "key.path=value"; the value is parsed as YAML ("[1, 2]", "null", "true" work).
void apply_config_override(Config& config, const std::string& assignment, bool strict,
                           std::vector<std::string>& warnings);

// The complete resolved configuration as YAML (every key, documentation order).
std::string config_to_yaml(const Config& config);

// Writes config_to_yaml(config) atomically to `path`.
void write_resolved_config(const Config& config, const std::filesystem::path& path);

}  // namespace pixelrec
