#include "app/cli_common.h"

#include <iostream>

#include "core/errors.h"
#include "core/logging.h"

namespace pixelrec::app {

std::string flag_names(const std::string& dashed, const std::string& short_name) {
  std::string names = short_name.empty() ? "" : short_name + ",";
  names += dashed;
  std::string underscored = dashed;
  for (size_t i = 2; i < underscored.size(); ++i)
    if (underscored[i] == '-') underscored[i] = '_';
  if (underscored != dashed) names += "," + underscored;
  return names;
}

void add_common_options(CLI::App& cmd, CommonOptions& options) {
  cmd.add_option("-c,--config", options.config_files,
                 "YAML config file; repeat to layer files (later ones override earlier ones)")
      ->check(CLI::ExistingFile);
  cmd.add_option("--set", options.overrides,
                 "Override one key, e.g. --set training.epochs=5 (repeatable, applied last)");
  cmd.add_flag("--strict", options.strict, "Unknown config keys are errors, not warnings");
  cmd.add_option(flag_names("--log-level"), options.log_level,
                 "trace|debug|info|warn|error|off (default: runtime.log_level)");
}

int run_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, version or the parse error
    return code == 0 ? 0 : 2;
  } catch (const UsageError& e) {
    std::cerr << "pixelrec: usage error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pixelrec: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

LoadedConfig load_config_from(const CommonOptions& options) {
  if (!options.log_level.empty()) spdlog::set_level(parse_log_level(options.log_level));
  LoadedConfig loaded = load_config({options.config_files, options.overrides, options.strict});
  if (options.log_level.empty())
    spdlog::set_level(parse_log_level(loaded.config.runtime.log_level));
  return loaded;
}

}  // namespace pixelrec::app
