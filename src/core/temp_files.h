// Temp files of atomic writes (core/files.h): their names record the writer, so that the temp
// files a crashed writer left behind are recognised and removed on the next start, while those
// of a live concurrent writer are kept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/files.h"

namespace pixelrec {

// The writer recorded in a temp name ".NAME.tmp.PID.COUNTER.HOST" (HOST absent in names written
// before it was recorded); nullopt for a name that is not such a temp file.
struct TempWriter {
  int64_t pid = 0;
  std::string host;  // empty: unknown (treated as this host)
};
std::optional<TempWriter> temp_file_writer(const std::string& file_name);

// This machine's host name as written into temp names (dots and slashes replaced).
const std::string& temp_host_name();

// Removes the temp files directly in `dir` whose writer is dead: written on this host by a
// process that no longer exists (kill(pid, 0) gives ESRCH), or by this process's pid before it
// started (a reused pid). Temp files of live writers and of other hosts are kept. Logs one line
// naming the folder and the count when any were removed; returns the count.
size_t remove_stale_temp_files(const fs::path& dir);

// Flushes the finished temp file `tmp` to disk (with kFlushToDisk), renames it over `path` and
// flushes the directory: for files written by other means than write_file_atomic (HDF5).
void sync_and_rename(const fs::path& tmp, const fs::path& path,
                     Durability durability = Durability::kFlushToDisk);

}  // namespace pixelrec
