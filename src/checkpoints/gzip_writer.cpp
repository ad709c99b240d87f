#include "checkpoints/gzip_writer.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "core/errors.h"

namespace pixelrec::checkpoints {

namespace {
constexpr size_t kOutputChunk = 1 << 18;
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window; +16 asks zlib for the gzip wrapper
constexpr int kMemLevel = 8;
}  // namespace

struct GzipWriter::Stream {
  z_stream z{};
  std::vector<unsigned char> buffer = std::vector<unsigned char>(kOutputChunk);
};

GzipWriter::GzipWriter(std::ostream& out, int level) : out_(out), stream_(new Stream) {
  if (level < 0 || level > 9)
    throw UsageError("gzip level " + std::to_string(level) + " is outside 0..9");
  const int rc =
      deflateInit2(&stream_->z, level, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY);
  if (rc != Z_OK)
    throw Error("zlib could not start a gzip stream (deflateInit2 returned " + std::to_string(rc) +
                "); out of memory?");
}

GzipWriter::~GzipWriter() { deflateEnd(&stream_->z); }

void GzipWriter::deflate_pending(int flush) {
  z_stream& z = stream_->z;
  int rc = Z_OK;
  do {
    z.next_out = stream_->buffer.data();
    z.avail_out = static_cast<uInt>(stream_->buffer.size());
    rc = deflate(&z, flush);
    if (rc == Z_STREAM_ERROR) throw InternalError("zlib deflate: inconsistent stream state");
    const size_t produced = stream_->buffer.size() - z.avail_out;
    out_.write(reinterpret_cast<const char*>(stream_->buffer.data()),
               static_cast<std::streamsize>(produced));
    if (!out_) throw Error("writing the gzip stream failed (disk full?)");
    bytes_out_ += produced;
  } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
}

void GzipWriter::write(const char* data, size_t size) {
  PIXELREC_CHECK(!finished_, "GzipWriter::write after finish");
  z_stream& z = stream_->z;
  bytes_in_ += size;
  while (size > 0) {
    // avail_in is 32-bit: feed huge buffers in pieces.
    const size_t piece = std::min<size_t>(size, UINT_MAX / 2);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z.avail_in = static_cast<uInt>(piece);
    deflate_pending(Z_NO_FLUSH);
    data += piece;
    size -= piece;
  }
}

void GzipWriter::finish() {
  PIXELREC_CHECK(!finished_, "GzipWriter::finish called twice");
  stream_->z.next_in = nullptr;
  stream_->z.avail_in = 0;
  deflate_pending(Z_FINISH);
  finished_ = true;
}

}  // namespace pixelrec::checkpoints
