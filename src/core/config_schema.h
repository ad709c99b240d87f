// The schema of the configuration: one FieldSpec per key path, binding the YAML key to its typed
// struct member with its allowed values and documentation. Loading, `--set`, the resolved-config
// dump, unknown-key suggestions and docs/configuration.md all come from this one table.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace pixelrec {

struct FieldSpec {
  std::string path;           // "model.embedding_dim"
  std::string allowed;        // "an integer in [1, 65536]"
  std::string doc;            // one line for docs and --help
  std::string deprecation;    // non-empty: accepted for compatibility, warns with this note
  bool open_subtree = false;  // takes a whole mapping with free-form keys (search spaces)
  // A reference framework spelling (config_reference_compat.cpp): read, never written back.
  bool compat_only = false;
  std::string maps_to;  // compat_only: the project key(s) it sets, for the docs
  // Decodes and validates the node into the config; throws ConfigError on a bad value.
  std::function<void(Config&, const YAML::Node&)> assign;
  std::function<YAML::Node(const Config&)> dump;
};

// All fields, in documentation order.
const std::vector<FieldSpec>& config_fields();

// The field for an exact key path, or nullptr.
const FieldSpec* find_config_field(std::string_view path);

// True when `path` names a section (a strict prefix of some field path), e.g. "data.splitting".
bool is_config_section(std::string_view path);

// The known key closest to an unknown one, for "did you mean" messages.
std::string suggest_config_key(std::string_view unknown_path);

}  // namespace pixelrec
