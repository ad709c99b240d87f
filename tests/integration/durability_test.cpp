// Atomic writes survive power loss and report a failing disk: the real binary, with an LD_PRELOAD
// probe on fsync (and unlink/rename, logged in order), flushes each file and then its directory
// (after the rename), a failing fsync is an error naming the file while the previous version
// stays in place, the feature store is durable before its parts are deleted, and the temp files
// a crashed writer left are removed by the next one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/strings.h"
#include "core/temp_files.h"
#include "support/pipeline.h"
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

// The index of the first line of `lines` from `from` on for which `match` holds; npos if none.
template <class Match>
size_t find_line(const std::vector<std::string>& lines, size_t from, Match match) {
  for (size_t i = from; i < lines.size(); ++i)
    if (match(lines[i])) return i;
  return std::string::npos;
}

TEST(Durability, TheFeatureStoreIsOnDiskBeforeItsPartsAreDeleted) {
  ScratchDir dir("durability_cache");
  const Pipeline p = make_tiny_pipeline(dir.path());
  const std::string folder = (dir / "features").string();
  const std::string store = folder + "/store.h5";
  const std::string log = (dir / "probe.log").string();
  const CommandResult r = run_command(
      probed(log, "",
             "cache " + p.config_arg() + " --set data.feature_store_path=" + shell_quote(store) +
                 " --log-level warn"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(fs::exists(store));
  ASSERT_FALSE(fs::exists(store + ".parts"));
  const std::vector<std::string> lines = split(read_text(log), '\n');
  const std::string temp_prefix = folder + "/.store.h5.tmp.";
  // The finished store (still under its temp name) is flushed, renamed into place, its folder
  // flushed: all before the first part is deleted.
  const size_t flushed =
      find_line(lines, 0, [&](const std::string& l) { return starts_with(l, temp_prefix); });
  ASSERT_NE(flushed, std::string::npos) << read_text(log);
  const size_t renamed = find_line(lines, flushed, [&](const std::string& l) {
    return starts_with(l, "rename " + lines[flushed] + " -> " + store);
  });
  ASSERT_NE(renamed, std::string::npos) << read_text(log);
  const size_t folder_flushed =
      find_line(lines, renamed, [&](const std::string& l) { return l == folder; });
  ASSERT_NE(folder_flushed, std::string::npos) << read_text(log);
  const size_t first_part_deleted = find_line(lines, 0, [&](const std::string& l) {
    return starts_with(l, "unlink " + store + ".parts/chunk_");
  });
  ASSERT_NE(first_part_deleted, std::string::npos) << read_text(log);
  EXPECT_LT(folder_flushed, first_part_deleted) << read_text(log);
}

// A pid above any pid_max (2^22): no such process.
const std::string kDeadPid = "4194999";

TEST(Durability, TheFeatureCacheRemovesTheTempFilesOfACrashedWriter) {
  ScratchDir dir("durability_cache_temps");
  const Pipeline p = make_tiny_pipeline(dir.path());
  const fs::path folder = dir / "features";
  const std::string host = temp_host_name();
  const std::string live = ".store.h5.tmp." + std::to_string(::getpid()) + ".0." + host;
  const std::vector<std::string> stale = {".store.h5.tmp." + kDeadPid + ".0." + host,
                                          ".cache_report.json.tmp." + kDeadPid + ".2"};
  for (const auto& name : stale) write_text(folder / name, "left by a crash");
  write_text(folder / live, "being written by a live process");
  const CommandResult r =
      run_pixelrec("cache " + p.config_arg() +
                   " --set data.feature_store_path=" + shell_quote((folder / "store.h5").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& name : stale) EXPECT_FALSE(fs::exists(folder / name)) << name;
  EXPECT_TRUE(fs::exists(folder / live));
  EXPECT_NE(r.output.find("removed 2 temp file(s) left in " + folder.string() +
                          " by a writer that crashed"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace pixelrec::test
