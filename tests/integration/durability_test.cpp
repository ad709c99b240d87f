// Atomic writes survive power loss and report a failing disk: the real binary, with an LD_PRELOAD
// probe on fsync, flushes each file and then its directory (after the rename), and a failing
// fsync is an error naming the file while the previous version stays in place.
#include <gtest/gtest.h>

#include <string>

#include "core/strings.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

std::string probed(const std::string& log, const std::string& fail, const std::string& args) {
  return "LD_PRELOAD=" + shell_quote(PIXELREC_FSYNC_PROBE) +
         " PIXELREC_PROBE_LOG=" + shell_quote(log) +
         " PIXELREC_PROBE_FAIL_FSYNC=" + shell_quote(fail) + " " + shell_quote(PIXELREC_BIN) + " " +
         args;
}

TEST(Durability, AtomicWritesFlushTheFileThenItsDirectory) {
  ScratchDir dir("durability");
  const std::string out = (dir / "raw").string();
  const std::string log = (dir / "fsync.log").string();
  const CommandResult r =
      run_command(probed(log, "", "synth --preset tiny --no-progress --out " + shell_quote(out)));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string synced = read_text(log);
  const size_t file = synced.find(out + "/.synth_config.yaml.tmp.");
  ASSERT_NE(file, std::string::npos) << synced;
  // After the file (renamed into place), the directory entry itself is flushed.
  EXPECT_NE(synced.find("\n" + out + "\n", file), std::string::npos) << synced;
}

TEST(Durability, AFailingFsyncIsAnErrorAndKeepsThePreviousVersion) {
  ScratchDir dir("durability_fail");
  const std::string out = (dir / "raw").string();
  const std::string log = (dir / "fsync.log").string();
  ASSERT_EQ(run_pixelrec("synth --preset tiny --no-progress --out " + shell_quote(out)).exit_code,
            0);
  const std::string before = read_text(dir / "raw" / "synth_config.yaml");
  const CommandResult r = run_command(probed(
      log, "synth_config", "synth --preset tiny --seed 9 --no-progress --out " + shell_quote(out)));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot flush '" + out + "/synth_config.yaml' to disk"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(read_text(dir / "raw" / "synth_config.yaml"), before);  // the old one is intact
}

}  // namespace
}  // namespace pixelrec::test
