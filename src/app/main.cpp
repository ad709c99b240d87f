// pixelrec: one binary, one subcommand per pipeline step. Exit status: 0 success, 1 failure
// (one-line cause on stderr), 2 usage error.
#include <iostream>

#include "app/cli_common.h"
#include "core/errors.h"
#include "core/logging.h"

int main(int argc, char** argv) {
  pixelrec::init_logging("info");
  CLI::App app{"pixelrec: train, tune and evaluate multimodal recommenders on PixelRec-format data",
               "pixelrec"};
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(PIXELREC_VERSION));
  app.footer("Run 'pixelrec SUBCOMMAND --help' for the options of each step. Docs: docs/.");

  pixelrec::app::register_config(app);
  pixelrec::app::register_synth(app);
  pixelrec::app::register_preprocess(app);
  pixelrec::app::register_split(app);
  pixelrec::app::register_cache(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, version or the parse error
    return code == 0 ? 0 : 2;
  } catch (const pixelrec::UsageError& e) {
    std::cerr << "pixelrec: usage error: " << e.what() << "\n";
    return 2;
  } catch (const pixelrec::Error& e) {
    std::cerr << "pixelrec: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "pixelrec: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
