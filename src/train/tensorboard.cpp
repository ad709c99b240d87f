#include "train/tensorboard.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "core/errors.h"
#include "core/files.h"
#include "core/host.h"
#include "core/logging.h"
#include "train/crc32c.h"

namespace pixelrec::train {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFileVersion = "brain.Event:2";
constexpr size_t kFlushThreshold = 64 * 1024;  // bytes buffered before an automatic write

// Protobuf wire keys: (field_number << 3) | wire_type.
constexpr char kEventWallTime = 0x09;     // Event.wall_time: double (fixed64)
constexpr char kEventStep = 0x10;         // Event.step: int64 (varint)
constexpr char kEventFileVersion = 0x1a;  // Event.file_version: string
constexpr char kEventSummary = 0x2a;      // Event.summary: Summary message
constexpr char kSummaryValue = 0x0a;      // Summary.value: repeated Summary.Value
constexpr char kValueTag = 0x0a;          // Summary.Value.tag: string
constexpr char kValueSimple = 0x15;       // Summary.Value.simple_value: float (fixed32)

void put_fixed(std::string& out, uint64_t bits, int bytes) {
  for (int i = 0; i < bytes; ++i) out += char((bits >> (8 * i)) & 0xFF);  // little-endian
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += char((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += char(v);
}

void put_bytes(std::string& out, char key, const std::string& bytes) {
  out += key;
  put_varint(out, bytes.size());
  out += bytes;
}

void put_event_header(std::string& out, double wall_time, int64_t step) {
  uint64_t bits;
  std::memcpy(&bits, &wall_time, sizeof bits);
  out += kEventWallTime;
  put_fixed(out, bits, 8);
  out += kEventStep;
  put_varint(out, static_cast<uint64_t>(step));  // int64: negative steps take 10 bytes
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// Opens a new event file, never reusing an existing name (two writers in one second and process).
int create_event_file(const fs::path& dir, fs::path& path) {
  const long seconds = long(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  const std::string stem = "events.out.tfevents." + std::to_string(seconds) + "." + host_name() +
                           "." + std::to_string(getpid());
  for (int attempt = 0;; ++attempt) {
    path = dir / (stem + (attempt ? "." + std::to_string(attempt) : "") + ".pixelrec");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EEXIST || attempt >= 1000)
      throw Error("cannot create TensorBoard event file '" + path.string() +
                  "': " + std::strerror(errno) + "; check that the run folder is writable");
  }
}

}  // namespace

std::string encode_file_version_event(double wall_time, const std::string& file_version) {
  std::string event;
  put_event_header(event, wall_time, 0);
  put_bytes(event, kEventFileVersion, file_version);
  return event;
}

std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag,
                                float value) {
  std::string summary_value;
  put_bytes(summary_value, kValueTag, tag);
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  summary_value += kValueSimple;
  put_fixed(summary_value, bits, 4);
  std::string summary;
  put_bytes(summary, kSummaryValue, summary_value);
  std::string event;
  put_event_header(event, wall_time, step);
  put_bytes(event, kEventSummary, summary);
  return event;
}

TensorBoardWriter::TensorBoardWriter(const fs::path& dir) {
  ensure_directory(dir);
  fd_ = create_event_file(dir, path_);
  write_record(encode_file_version_event(now_seconds(), kFileVersion));
  flush();
}

TensorBoardWriter::~TensorBoardWriter() { close(); }

TensorBoardWriter::TensorBoardWriter(TensorBoardWriter&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)) {}

TensorBoardWriter& TensorBoardWriter::operator=(TensorBoardWriter&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

void TensorBoardWriter::close() noexcept {
  if (fd_ < 0) return;
  try {
    flush();
  } catch (const std::exception& e) {
    spdlog::warn("{}", e.what());
  }
  ::close(fd_);
  fd_ = -1;
}

void TensorBoardWriter::add_scalar(const std::string& tag, float value, int64_t step) {
  add_scalar(tag, value, step, now_seconds());
}

void TensorBoardWriter::add_scalar(const std::string& tag, float value, int64_t step,
                                   double wall_time) {
  write_record(encode_scalar_event(wall_time, step, tag, value));
  if (buffer_.size() >= kFlushThreshold) flush();
}

void TensorBoardWriter::write_record(const std::string& payload) {
  PIXELREC_CHECK(fd_ >= 0, "TensorBoardWriter used after being moved from");
  std::string header;
  put_fixed(header, payload.size(), 8);
  const uint32_t header_crc = masked_crc32c(header.data(), header.size());
  const uint32_t payload_crc = masked_crc32c(payload.data(), payload.size());
  buffer_ += header;
  put_fixed(buffer_, header_crc, 4);
  buffer_ += payload;
  put_fixed(buffer_, payload_crc, 4);
}

void TensorBoardWriter::flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      buffer_.erase(0, done);
      throw Error("cannot write TensorBoard event file '" + path_.string() +
                  "': " + std::strerror(errno) + "; check free disk space");
    }
    done += size_t(n);
  }
  buffer_.clear();
}

}  // namespace pixelrec::train
