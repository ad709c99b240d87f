// pixelrec: one binary, one subcommand per pipeline step. Exit status: 0 success, 1 failure
// (one-line cause on stderr), 2 usage error.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <utility>

#include "app/cli_common.h"
#include "core/errors.h"
#include "core/logging.h"

namespace {

// Subcommands that need LibTorch live in pixelrec-torch (see src/CMakeLists.txt). Exec keeps the
// process (pid, environment, MPI launcher) so `mpirun -np 2 pixelrec train` works unchanged.
// `checkpoints inspect` and `hpo worker` load models; the rest of those two groups does not.
constexpr const char* kTorchSubcommands[] = {"train", "evaluate", "recommend"};
constexpr std::pair<const char*, const char*> kTorchNestedSubcommands[] = {
    {"checkpoints", "inspect"}, {"hpo", "worker"}};

bool is_torch_subcommand(int argc, char** argv) {
  if (argc < 2) return false;
  for (const char* s : kTorchSubcommands)
    if (std::strcmp(s, argv[1]) == 0) return true;
  for (const auto& [group, sub] : kTorchNestedSubcommands)
    if (argc >= 3 && std::strcmp(group, argv[1]) == 0 && std::strcmp(sub, argv[2]) == 0)
      return true;
  return false;
}

int exec_torch_binary(char** argv) {
  // LibTorch's OpenMP workers spin while waiting by default and fight OpenBLAS's pool for the
  // same cores (measured: 2 threads 2-5x slower than 1 on 2 cores); libgomp reads this only at
  // start-up, hence here.
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto torch_binary =
      (ec ? std::filesystem::path(argv[0]) : self).parent_path() / "pixelrec-torch";
  execv(torch_binary.c_str(), argv);
  std::cerr << "pixelrec: error: cannot start " << torch_binary.string() << " ("
            << std::strerror(errno) << "); it is built beside pixelrec: rebuild with `make`\n";
  return 1;
}

void register_torch_placeholders(CLI::App& app) {
  app.add_subcommand("train", "Train the multimodal recommender (pixelrec train --help)");
  app.add_subcommand("evaluate",
                     "Evaluate the model or a baseline on a task (pixelrec evaluate --help)");
  app.add_subcommand("recommend", "Top-K recommendations per user (pixelrec recommend --help)");
}

}  // namespace

int main(int argc, char** argv) {
  if (is_torch_subcommand(argc, argv)) return exec_torch_binary(argv);
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
  pixelrec::app::register_hpo(app);
  pixelrec::app::register_report(app);
  pixelrec::app::register_demo(app);
  pixelrec::app::register_checkpoints(app);
  register_torch_placeholders(app);

  return pixelrec::app::run_command_line(app, argc, argv);
}
