// Streams bytes through zlib's deflate into a gzip member (RFC 1952: header, deflate data, CRC-32
// and length trailer) written to an std::ostream, so archives of multi-GiB checkpoints never sit
// in memory.
#pragma once

#include <cstddef>
#include <memory>
#include <ostream>
#include <string_view>

namespace pixelrec::checkpoints {

class GzipWriter {
 public:
  // level: zlib's 0 (store) .. 9 (smallest).
  GzipWriter(std::ostream& out, int level);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  void write(const char* data, size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Flushes the deflate stream and writes the trailer; nothing may be written afterwards.
  void finish();

  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  struct Stream;
  void deflate_pending(int flush);

  std::ostream& out_;
  std::unique_ptr<Stream> stream_;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  bool finished_ = false;
};

}  // namespace pixelrec::checkpoints
