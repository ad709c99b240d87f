// A gzip'd tar archive written by libarchive in the POSIX pax format: plain ustar headers where a
// file fits them, a pax extended header where it does not (paths over 255 bytes, files of 8 GiB
// and more), so any tar since 2001 restores it. Streamed to an std::ostream in one pass, without
// holding file contents in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

struct archive;

namespace pixelrec::checkpoints {

class TarGzWriter {
 public:
  using Observer = std::function<void(const char*, size_t)>;
  // level: zlib's 0 (store) .. 9 (smallest).
  TarGzWriter(std::ostream& out, int level);
  ~TarGzWriter();
  TarGzWriter(const TarGzWriter&) = delete;
  TarGzWriter& operator=(const TarGzWriter&) = delete;

  void add_directory(const std::string& name, int64_t mtime);
  void add_bytes(const std::string& name, std::string_view contents, int64_t mtime);
  // Streams the file at `path` (expected `size` bytes) as `name`; `observe` sees every chunk
  // (e.g. to hash it). Throws Error when the file's length differs from `size` (changed while
  // archiving) or it cannot be read.
  void add_file(const std::string& name, const std::filesystem::path& path, uint64_t size,
                int64_t mtime, const Observer& observe);
  // Writes tar's end blocks and gzip's trailer; nothing may be added afterwards.
  void finish();

  uint64_t bytes_in() const { return bytes_in_; }    // the tar stream, before compression
  uint64_t bytes_out() const { return bytes_out_; }  // the gzip stream written to `out`

 private:
  void write_header(const std::string& name, uint64_t size, int64_t mtime, bool directory);
  void write_data(const char* data, size_t size);
  void check(int status, const std::string& what);

  std::ostream& out_;
  archive* archive_ = nullptr;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  bool finished_ = false;
};

}  // namespace pixelrec::checkpoints
