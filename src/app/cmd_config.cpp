// `pixelrec config show|check|docs`: inspect the resolved configuration and its reference.
#include <iostream>

#include "app/cli_common.h"
#include "core/config_docs.h"

namespace pixelrec::app {

void register_config(CLI::App& app) {
  auto* cmd = app.add_subcommand("config", "Show, check or document the configuration");
  cmd->require_subcommand(1);

  auto show_options = std::make_shared<CommonOptions>();
  auto* show = cmd->add_subcommand("show", "Print the resolved configuration (every key) as YAML");
  add_common_options(*show, *show_options);
  show->callback(
      [show_options] { std::cout << config_to_yaml(load_config_from(*show_options).config); });

  auto check_options = std::make_shared<CommonOptions>();
  auto* check = cmd->add_subcommand(
      "check",
      "Load and validate the configuration; exit 1 on an invalid value (or, with "
      "--strict, an unknown key)");
  add_common_options(*check, *check_options);
  check->callback([check_options] {
    const LoadedConfig loaded = load_config_from(*check_options);
    std::cout << "configuration is valid (" << loaded.warnings.size() << " warning"
              << (loaded.warnings.size() == 1 ? "" : "s") << ")\n";
  });

  auto* docs = cmd->add_subcommand("docs", "Print the configuration reference as Markdown");
  docs->callback([] { std::cout << config_reference_markdown(); });
}

}  // namespace pixelrec::app
