// `pixelrec split [--sample-n N]`: train/val/test splits of the processed interactions (SPEC §4).
#include <memory>

#include "app/cli_common.h"
#include "core/strings.h"
#include "data/split.h"

namespace pixelrec::app {

namespace {

CLI::Validator positive_count() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        const auto n = parse_int(value);
        if (n && *n > 0) return "";
        return "expected a positive number of interactions, got '" + value + "'";
      },
      "N>0");
}

}  // namespace

void register_split(CLI::App& app) {
  struct Options {
    CommonOptions common;
    int64_t sample_n = 0;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "split", "Split the processed interactions into train/val/test (data.splitting.strategy)");
  add_common_options(*cmd, options->common);
  CLI::Option* sample_n =
      cmd->add_option(flag_names("--sample-n"), options->sample_n,
                      "Sample N interactions (seeded) before splitting (default: data.sample_size)")
          ->default_str("")
          ->check(positive_count());
  cmd->callback([options, sample_n] {
    const LoadedConfig loaded = load_config_from(options->common);
    SplitRequest request;
    if (sample_n->count() > 0) request.sample_n = options->sample_n;
    run_split(loaded.config, request);
  });
}

}  // namespace pixelrec::app
