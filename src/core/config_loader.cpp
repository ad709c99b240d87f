#include "core/config_loader.h"

#include <yaml-cpp/yaml.h>

#include "core/config_schema.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"

namespace pixelrec {

namespace {

// " (in FILE line N)": where a key was found, for messages.
std::string location(const std::string& source, const YAML::Node& key) {
  const int line = key.Mark().line;
  return " (in " + source + (line >= 0 ? " line " + std::to_string(line + 1) : "") + ")";
}

void report_unknown(const std::string& path, const std::string& where, bool strict,
                    std::vector<std::string>& warnings) {
  const std::string suggestion = suggest_config_key(path);
  std::string msg = "unknown config key '" + path + "'" + where;
  msg += suggestion.empty() ? ": no similar key exists (see docs/configuration.md)."
                            : ": did you mean '" + suggestion + "'?";
  if (strict) throw ConfigError(msg);
  msg += " The key is ignored; --strict makes this an error.";
  spdlog::warn("{}", msg);
  warnings.push_back(msg);
}

void assign_field(Config& config, const FieldSpec& field, const YAML::Node& value,
                  const std::string& where, bool strict, std::vector<std::string>& warnings) {
  try {
    field.assign(config, value);
  } catch (const ConfigError& e) {
    throw ConfigError(std::string(e.what()) + where);
  }
  if (!field.deprecation.empty()) {
    const std::string msg =
        "config key '" + field.path + "'" + where +
        " is accepted for compatibility but has no effect: " + field.deprecation;
    spdlog::warn("{}", msg);
    warnings.push_back(msg);
  }
}

void apply_mapping(Config& config, const YAML::Node& map, const std::string& prefix,
                   const std::string& source, bool strict, std::vector<std::string>& warnings) {
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const std::string where = location(source, kv.first);
    if (const FieldSpec* field = find_config_field(path)) {
      assign_field(config, *field, kv.second, where, strict, warnings);
    } else if (is_config_section(path)) {
      if (kv.second.IsNull()) continue;  // "model:" with nothing below it
      if (!kv.second.IsMap())
        throw ConfigError("config key '" + path + "'" + where +
                          " is a section and needs a mapping of keys below it, got '" +
                          YAML::Dump(kv.second) + "'");
      apply_mapping(config, kv.second, path, source, strict, warnings);
    } else {
      report_unknown(path, where, strict, warnings);
    }
  }
}

}  // namespace

void apply_config_yaml(Config& config, const std::string& yaml_text, const std::string& source,
                       bool strict, std::vector<std::string>& warnings) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError("cannot parse YAML in " + source + ": " + e.what() +
                      " (fix the syntax at that line)");
  }
  if (root.IsNull()) return;  // empty file
  if (!root.IsMap())
    throw ConfigError("config " + source +
                      " must be a mapping of sections (model:, training:, data:, ...)");
  apply_mapping(config, root, "", source, strict, warnings);
}

namespace {

// Sets `value` at the key path `parts` of the search space, whose parameter names are config key
// paths themselves (training.learning_rate) and whose parameters are maps of fields (low, high,
// ...). The parameter is the longest run of leading parts naming an existing one; without one, a
// map value is a whole new parameter named by every part, and any other value the field named by
// the last part of a new parameter named by the others.
void set_in_search_space(YAML::Node space, const std::vector<std::string>& parts,
                         const YAML::Node& value) {
  const auto join = [&parts](size_t end) {
    std::string key = parts[0];
    for (size_t k = 1; k < end; ++k) key += "." + parts[k];
    return key;
  };
  size_t name_end = 0;
  for (size_t end = parts.size(); end >= 1 && name_end == 0; --end)
    if (space.IsMap() && space[join(end)].IsDefined()) name_end = end;
  if (name_end == 0)
    name_end = value.IsMap() || parts.size() == 1 ? parts.size() : parts.size() - 1;
  if (name_end == parts.size()) {
    space[join(name_end)] = value;
    return;
  }
  YAML::Node cursor = space[join(name_end)];
  for (size_t k = name_end; k + 1 < parts.size(); ++k) cursor.reset(cursor[parts[k]]);
  cursor[parts.back()] = value;
}

}  // namespace

void apply_config_override(Config& config, const std::string& assignment, bool strict,
                           std::vector<std::string>& warnings) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError("--set expects key.path=value, got '" + assignment + "'");
  const std::string path(trim(std::string_view(assignment).substr(0, eq)));
  const std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text.empty() ? "''" : text);
  } catch (const YAML::Exception& e) {
    throw ConfigError("--set " + path + ": cannot parse value '" + text + "': " + e.what());
  }
  const std::string where = " (in --set)";
  if (const FieldSpec* field = find_config_field(path)) {
    assign_field(config, *field, value, where, strict, warnings);
    return;
  }
  // A key inside a free-form subtree: hyperparameter_search.search_space.lr.high=0.1
  for (const auto& f : config_fields()) {
    if (f.open_subtree && starts_with(path, f.path + ".")) {
      YAML::Node tree = f.dump(config);
      set_in_search_space(tree, split(path.substr(f.path.size() + 1), '.'), value);
      assign_field(config, f, tree, where, strict, warnings);
      return;
    }
  }
  if (is_config_section(path))
    throw ConfigError("--set " + path + ": that is a section, not a key; set one of its keys");
  report_unknown(path, where, strict, warnings);
}

LoadedConfig load_config(const ConfigSources& sources) {
  LoadedConfig out;
  for (const auto& file : sources.files)
    apply_config_yaml(out.config, read_file(file, "config file"), file, sources.strict,
                      out.warnings);
  for (const auto& assignment : sources.overrides)
    apply_config_override(out.config, assignment, sources.strict, out.warnings);
  validate_config(out.config);
  return out;
}

std::string config_to_yaml(const Config& config) {
  YAML::Node root(YAML::NodeType::Map);
  const Config defaults;
  for (const auto& field : config_fields()) {
    if (field.compat_only) continue;  // a reference spelling: its project key is written
    // A compat key (accepted, no effect, warns) only when given a value of its own, so that the
    // resolved config loads back without warnings the user never asked for.
    if (!field.deprecation.empty() &&
        YAML::Dump(field.dump(config)) == YAML::Dump(field.dump(defaults)))
      continue;
    const auto parts = split(field.path, '.');
    YAML::Node cursor = root;
    for (size_t i = 0; i + 1 < parts.size(); ++i) cursor.reset(cursor[parts[i]]);
    cursor[parts.back()] = field.dump(config);
  }
  YAML::Emitter out;
  out << root;
  return std::string("# Resolved PixelRec-MM configuration (every key, defaults included)\n") +
         out.c_str() + "\n";
}

void write_resolved_config(const Config& config, const std::filesystem::path& path) {
  write_file_atomic(path, config_to_yaml(config));
}

}  // namespace pixelrec
