// Temp files of atomic writes name their writer (pid and host), so the ones a crashed writer left
// behind are removed on the next start and those of a live writer are kept.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "core/files.h"
#include "core/temp_files.h"
#include "support/test_support.h"

namespace pixelrec {
namespace {

// A pid above any pid_max (2^22): no such process.
constexpr const char* kDeadPid = "4194999";

TEST(TempFiles, TempNamesRecordThePidAndTheHost) {
  const fs::path tmp = temp_path_for("/data/run/last.pt");
  EXPECT_EQ(tmp.parent_path(), fs::path("/data/run"));
  const auto writer = temp_file_writer(tmp.filename().string());
  ASSERT_TRUE(writer.has_value()) << tmp;
  EXPECT_EQ(writer->pid, int64_t(::getpid()));
  EXPECT_EQ(writer->host, temp_host_name());
  EXPECT_EQ(temp_host_name().find('.'), std::string::npos);
}

TEST(TempFiles, ParsesOldAndNewNamesAndNothingElse) {
  const auto old_format = temp_file_writer(".metrics.csv.tmp.123.4");
  ASSERT_TRUE(old_format.has_value());
  EXPECT_EQ(old_format->pid, 123);
  EXPECT_EQ(old_format->host, "");
  const auto with_host = temp_file_writer(".a.tmp.b.tmp.77.0.node-3_cluster");
  ASSERT_TRUE(with_host.has_value());
  EXPECT_EQ(with_host->pid, 77);
  EXPECT_EQ(with_host->host, "node-3_cluster");
  EXPECT_FALSE(temp_file_writer("last.pt").has_value());
  EXPECT_FALSE(temp_file_writer("a.tmp.1.2").has_value());  // not hidden: not ours
  EXPECT_FALSE(temp_file_writer(".a.tmp.x.2").has_value());
  EXPECT_FALSE(temp_file_writer(".a.tmp.1").has_value());
}

TEST(TempFiles, RemovesOnlyTheTempFilesOfDeadWritersOnThisHost) {
  test::ScratchDir dir("temp_files");
  const std::string host = temp_host_name();
  const std::string me = std::to_string(::getpid());
  const std::vector<std::string> stale = {".last.pt.tmp." + std::string(kDeadPid) + ".0." + host,
                                          ".metrics.csv.tmp." + std::string(kDeadPid) + ".3"};
  const std::vector<std::string> kept = {
      ".last.pt.tmp." + me + ".1." + host,                       // this live process
      ".last.pt.tmp." + std::string(kDeadPid) + ".0.otherhost",  // cannot check another host
      ".last.pt.tmp.1.0." + host,                                // pid 1 is alive
      "last.pt", ".hidden"};
  for (const auto& name : stale) test::write_text(dir / name, "x");
  for (const auto& name : kept) test::write_text(dir / name, "x");
  fs::create_directory(dir / (".by_model.tmp." + std::string(kDeadPid) + ".0." + host));
  EXPECT_EQ(remove_stale_temp_files(dir.path()), stale.size());
  for (const auto& name : stale) EXPECT_FALSE(fs::exists(dir / name)) << name;
  for (const auto& name : kept) EXPECT_TRUE(fs::exists(dir / name)) << name;
  EXPECT_EQ(remove_stale_temp_files(dir / "missing"), 0u);
}

TEST(TempFiles, OurOwnPidOnAFileOlderThanThisProcessIsAReusedPid) {
  test::ScratchDir dir("temp_files_reused");
  const fs::path old = dir / (".x.tmp." + std::to_string(::getpid()) + ".9");
  test::write_text(old, "x");
  fs::last_write_time(old, fs::file_time_type::clock::now() - std::chrono::hours(24 * 365 * 30));
  EXPECT_EQ(remove_stale_temp_files(dir.path()), 1u);
  EXPECT_FALSE(fs::exists(old));
}

}  // namespace
}  // namespace pixelrec
