// SQLite's locking is unreliable on network and parallel filesystems (NFS, Lustre, SMB, GPFS,
// BeeGFS): a study database there can be corrupted or stall. Opening one warns with the fix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace pixelrec::hpo {

// The name of the network or parallel filesystem whose statfs() f_type is `magic`; nullopt for
// a local filesystem (or one not known to be shared).
std::optional<std::string> shared_filesystem_name(int64_t magic);

// The warning for a study database at `database` on filesystem `name`: what to do instead.
std::string shared_filesystem_warning(const std::filesystem::path& database,
                                      const std::string& name);

// Logs shared_filesystem_warning when the folder of `database` is on such a filesystem. The
// test-only variable PIXELREC_TEST_STUDY_FS_MAGIC (a number) stands in for statfs()'s f_type.
void warn_if_shared_filesystem(const std::filesystem::path& database);

}  // namespace pixelrec::hpo
