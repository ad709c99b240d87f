// A study database on a network or parallel filesystem (SQLite locks are unreliable there) is
// named by its statfs() magic, and opening one logs a warning with the alternative.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <sstream>

#include "hpo/storage.h"
#include "hpo/storage_filesystem.h"
#include "support/test_support.h"

namespace pixelrec::hpo {
namespace {

TEST(HpoStorageFilesystem, NamesTheSharedFilesystemsByTheirMagic) {
  EXPECT_EQ(shared_filesystem_name(0x6969), "NFS");
  EXPECT_EQ(shared_filesystem_name(0x0BD00BD0), "Lustre");
  EXPECT_EQ(shared_filesystem_name(0xFF534D42), "CIFS");
  EXPECT_EQ(shared_filesystem_name(0xFE534D42), "SMB2/SMB3");
  EXPECT_EQ(shared_filesystem_name(0x47504653), "GPFS");
  EXPECT_EQ(shared_filesystem_name(0x19830326), "BeeGFS");
  // f_type sign-extended from a 32-bit signed field still matches.
  EXPECT_EQ(shared_filesystem_name(int64_t(int32_t(0xFF534D42u))), "CIFS");
  EXPECT_EQ(shared_filesystem_name(0xEF53), std::nullopt);      // ext2/3/4
  EXPECT_EQ(shared_filesystem_name(0x58465342), std::nullopt);  // XFS
  EXPECT_EQ(shared_filesystem_name(0x01021994), std::nullopt);  // tmpfs
}

TEST(HpoStorageFilesystem, TheWarningSaysWhatToDoInstead) {
  const std::string w = shared_filesystem_warning("/lustre/me/study.db", "Lustre");
  EXPECT_NE(w.find("/lustre/me/study.db is on Lustre"), std::string::npos) << w;
  EXPECT_NE(w.find("--storage sqlite:///"), std::string::npos) << w;
  EXPECT_NE(w.find("pixelrec hpo coordinator"), std::string::npos) << w;
  EXPECT_NE(w.find("over TCP"), std::string::npos) << w;
}

// Opening the storage logs the warning for an NFS folder (the test-only variable stands in for
// statfs()'s f_type) and nothing on the local scratch folder.
TEST(HpoStorageFilesystem, OpeningAStudyOnNfsWarns) {
  test::ScratchDir dir("hpo_storage_nfs");
  std::ostringstream log;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  { StudyStorage local(dir / "local.db"); }
  const std::string local_log = log.str();
  ::setenv("PIXELREC_TEST_STUDY_FS_MAGIC", "0x6969", 1);
  { StudyStorage nfs(dir / "nfs.db"); }
  ::unsetenv("PIXELREC_TEST_STUDY_FS_MAGIC");
  spdlog::set_default_logger(previous);
  EXPECT_EQ(local_log.find("SQLite's file locks"), std::string::npos) << local_log;
  EXPECT_NE(log.str().find("the study database " + (dir / "nfs.db").string() + " is on NFS"),
            std::string::npos)
      << log.str();
}

}  // namespace
}  // namespace pixelrec::hpo
