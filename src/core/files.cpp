#include "core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/temp_files.h"

namespace pixelrec {

std::string read_file(const fs::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    throw Error(std::string("cannot read ") + std::string(what) + " '" + path.string() +
                "': " + (exists ? std::strerror(errno) : "no such file") +
                (exists ? " (check its permissions)" : " (check the path in your config)"));
  }
  std::string data;
  in.seekg(0, std::ios::end);
  data.resize(static_cast<size_t>(in.tellg()));
  in.seekg(0, std::ios::beg);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (!in) throw Error("failed while reading '" + path.string() + "'");
  return data;
}

fs::path temp_path_for(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  return path.parent_path() /
         ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
          std::to_string(counter++) + "." + temp_host_name());
}

void ensure_directory(const fs::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create directory '" + dir.string() + "': " + ec.message());
}

void ensure_parent_directory(const fs::path& path) { ensure_directory(path.parent_path()); }

namespace {

// fsync(2) of `target` (a file or a directory); false with errno set when it fails.
bool flush_to_disk(const fs::path& target, bool directory) {
  const int fd = ::open(target.c_str(), O_RDONLY | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return false;
  const bool flushed = ::fsync(fd) == 0;
  const int error = errno;
  const bool closed = ::close(fd) == 0;
  errno = flushed ? errno : error;
  return flushed && closed;
}

}  // namespace

// The finished temp file is flushed, renamed over `path`, then the directory entry is flushed:
// after a power cut `path` holds either the old or the new contents, never a torn or lost file.
void sync_and_rename(const fs::path& tmp, const fs::path& path, Durability durability) {
  const bool flush = durability == Durability::kFlushToDisk;
  if (flush && !flush_to_disk(tmp, false)) {
    const std::string cause = std::strerror(errno);
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error("cannot flush '" + path.string() + "' to disk: " + cause +
                " (disk full or failing?); the previous version, if any, is kept");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot move finished file into place at '" + path.string() + "': " + ec.message());
  }
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (flush && !flush_to_disk(dir, true))
    throw Error("'" + path.string() + "' was written, but its directory could not be flushed to " +
                "disk: " + std::strerror(errno) + "; after a power cut it may be the old version");
}

void sync_filesystem(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  const bool synced = fd >= 0 && ::syncfs(fd) == 0;
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!synced)
    throw Error("the files in '" + dir.string() + "' were written, but the filesystem could not " +
                "be flushed to disk: " + std::strerror(error) +
                "; after a power cut some may be missing: write them again");
}

namespace {
void write_atomic(const fs::path& path, const std::function<void(std::ostream&)>& fill,
                  Durability durability) {
  ensure_parent_directory(path);
  const fs::path tmp = temp_path_for(path);
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write '" + tmp.string() + "': " + std::strerror(errno));
    fill(out);
    out.close();  // close() writes what is buffered: its failure is a failed write too
    if (out.fail()) throw Error("write failed for '" + path.string() + "' (disk full?)");
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  sync_and_rename(tmp, path, durability);
}
}  // namespace

void write_stream_atomic(const fs::path& path, const std::function<void(std::ostream&)>& fill) {
  write_atomic(path, fill, Durability::kFlushToDisk);
}

void write_file_atomic(const fs::path& path, std::string_view contents, Durability durability) {
  write_atomic(
      path,
      [&](std::ostream& out) {
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
      },
      durability);
}

}  // namespace pixelrec
