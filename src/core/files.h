// Filesystem helpers: whole-file reads with clear errors, and atomic writes (temp file + rename)
// so that a crash never leaves a half-written output behind.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace pixelrec {

namespace fs = std::filesystem;

// Reads a whole file; throws Error naming the file and the fix when it cannot be read.
std::string read_file(const fs::path& path, std::string_view what = "file");

enum class Durability {
  kFlushToDisk,  // fsync before the rename: survives a power cut (reports, CSVs, configs)
  kRenameOnly,   // no fsync: still never half-written; for many small files (images), followed
                 // by one sync_filesystem() of their folder
};

// Writes `contents` to a temp file beside `path` and renames it over `path`.
void write_file_atomic(const fs::path& path, std::string_view contents,
                       Durability durability = Durability::kFlushToDisk);

// Flushes the filesystem holding `dir` (after many kRenameOnly writes); throws Error when it
// cannot (no such folder, or syncfs fails), as a failed fsync would.
void sync_filesystem(const fs::path& dir);

// Streams into a temp file beside `path`; renames it over `path` only if `fill` returns normally.
void write_stream_atomic(const fs::path& path, const std::function<void(std::ostream&)>& fill);

// Creates a directory and its parents; throws Error with the path when that fails.
void ensure_directory(const fs::path& dir);

// The parent directory of `path` is created when missing.
void ensure_parent_directory(const fs::path& path);

// Unique temp name beside `path` (same filesystem, so rename is atomic).
fs::path temp_path_for(const fs::path& path);

}  // namespace pixelrec
