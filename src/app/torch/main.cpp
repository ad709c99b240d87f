// pixelrec-torch: the LibTorch half of `pixelrec` (train, evaluate, recommend). Users run
// `pixelrec SUBCOMMAND`, which execs this binary with the same arguments.
#include <iostream>

#include "app/cli_common.h"
#include "app/torch/torch_commands.h"
#include "core/errors.h"
#include "core/logging.h"

namespace pixelrec::app {
namespace {
int g_exit_status = 0;
}
void set_exit_status(int status) { g_exit_status = status; }
int exit_status() { return g_exit_status; }
}  // namespace pixelrec::app

int main(int argc, char** argv) {
  pixelrec::init_logging("info");
  CLI::App app{"pixelrec: train, tune and evaluate multimodal recommenders on PixelRec-format data",
               "pixelrec"};
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(PIXELREC_VERSION));
  pixelrec::app::register_train(app);
  pixelrec::app::register_evaluate(app);
  pixelrec::app::register_recommend(app);
  pixelrec::app::register_checkpoints_inspect(app);
  pixelrec::app::register_hpo_worker(app);
  const int status = pixelrec::app::run_command_line(app, argc, argv);
  return status != 0 ? status : pixelrec::app::exit_status();
}
