// POSIX ustar archives (IEEE Std 1003.1 pax "ustar" format): 512-byte headers, file data padded
// to 512 bytes, two zero blocks at the end. Written to any byte sink (e.g. a GzipWriter), in one
// pass and without holding file contents in memory.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace pixelrec::checkpoints {

inline constexpr size_t kTarBlock = 512;
// The largest size ustar's 11 octal digits can hold: 8 GiB - 1.
inline constexpr uint64_t kUstarMaxFileBytes = 077777777777ull;

struct TarEntryHeader {
  std::string name;  // path inside the archive, '/'-separated; a directory ends without '/'
  uint64_t size = 0;
  int64_t mtime = 0;  // seconds since the epoch
  bool directory = false;
};

// The 512-byte ustar header of `entry`. Throws Error when the size exceeds kUstarMaxFileBytes
// or the name does not fit ustar's 100-byte name + 155-byte prefix split.
std::array<char, kTarBlock> ustar_header(const TarEntryHeader& entry);

class TarWriter {
 public:
  using Sink = std::function<void(const char*, size_t)>;
  explicit TarWriter(Sink sink) : sink_(std::move(sink)) {}

  void add_directory(const std::string& name, int64_t mtime);
  void add_bytes(const std::string& name, std::string_view contents, int64_t mtime);
  // Streams the file at `path` (expected `size` bytes) as `name`; `observe` sees every chunk
  // (e.g. to hash it). Throws Error when the file's length differs from `size` (changed while
  // archiving) or it cannot be read.
  void add_file(const std::string& name, const std::filesystem::path& path, uint64_t size,
                int64_t mtime, const std::function<void(const char*, size_t)>& observe);
  // Two zero blocks, then zero padding to a whole 10240-byte record (tar's default blocking).
  void finish();

  uint64_t bytes_written() const { return written_; }

 private:
  void emit(const char* data, size_t size);
  void pad_to_block();

  Sink sink_;
  uint64_t written_ = 0;
};

}  // namespace pixelrec::checkpoints
