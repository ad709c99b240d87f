// Where the tests of the pretrained backbones find what `make backbones` made on this machine,
// and whether they must skip: only when set-up recorded that it could not install the packages
// (<export dir>/UNAVAILABLE, written by scripts/install_backbones.sh). Missing exports without
// that record fail the test with the command to run.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace pixelrec::test {

// <torch venv>/pixelrec-backbones, and the venv's python (the packages' own Python).
std::filesystem::path backbone_export_dir();
std::string torch_python();

struct ExportsState {
  std::string skip_reason;  // set-up could not install the packages: why
  std::string failure;      // the exports are missing although they could be made
};
ExportsState pretrained_exports();

}  // namespace pixelrec::test

// At the top of a test that needs the exports. The skip message is matched by ctest
// (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt), so the test shows as skipped there too.
#define PIXELREC_REQUIRE_PRETRAINED_EXPORTS()                                             \
  do {                                                                                    \
    const auto exports_state_ = ::pixelrec::test::pretrained_exports();                   \
    if (!exports_state_.skip_reason.empty())                                              \
      GTEST_SKIP() << "PRETRAINED BACKBONES UNAVAILABLE: " << exports_state_.skip_reason; \
    ASSERT_TRUE(exports_state_.failure.empty()) << exports_state_.failure;                \
  } while (0)
