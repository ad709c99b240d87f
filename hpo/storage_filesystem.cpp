#include "hpo/storage_filesystem.h"

#include <spdlog/spdlog.h>
#include <sys/vfs.h>

#include <cstdlib>

namespace pixelrec::hpo {

std::optional<std::string> shared_filesystem_name(int64_t magic) {
  switch (static_cast<uint32_t>(magic)) {  // f_type is signed on some ABIs: compare 32 bits
    case 0x6969u:
      return "NFS";
    case 0x0BD00BD0u:
      return "Lustre";
    case 0xFF534D42u:
      return "CIFS";
    case 0xFE534D42u:
      return "SMB2/SMB3";
    case 0x47504653u:
      return "GPFS";
    case 0x19830326u:
      return "BeeGFS";
    default:
      return std::nullopt;
  }
}

std::string shared_filesystem_warning(const std::filesystem::path& database,
                                      const std::string& name) {
  return "the study database " + database.string() + " is on " + name +
         ", where SQLite's file locks are unreliable (a study can be corrupted or stall): keep " +
         "study.db on a local disk (--storage sqlite:///local/path/study.db), or run the " +
         "coordinator (`pixelrec hpo coordinator`) on a node with a local disk; its workers " +
         "connect over TCP and need no shared database";
}

void warn_if_shared_filesystem(const std::filesystem::path& database) {
  int64_t magic = 0;
  if (const char* test_magic = std::getenv("PIXELREC_TEST_STUDY_FS_MAGIC")) {
    magic = std::strtoll(test_magic, nullptr, 0);
  } else {
    const std::filesystem::path dir =
        database.parent_path().empty() ? std::filesystem::path(".") : database.parent_path();
    struct statfs info {};
    if (::statfs(dir.c_str(), &info) != 0) return;
    magic = static_cast<int64_t>(info.f_type);
  }
  if (const auto name = shared_filesystem_name(magic))
    spdlog::warn("{}", shared_filesystem_warning(database, *name));
}

}  // namespace pixelrec::hpo
