// SHA-256 (FIPS 180-4), streaming: the archive manifest records one digest per file so that a
// restored checkpoint can be verified with `sha256sum -c`-style tools.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pixelrec::checkpoints {

class Sha256 {
 public:
  Sha256();
  Sha256& update(const void* data, size_t size);
  Sha256& update(std::string_view bytes) { return update(bytes.data(), bytes.size()); }
  // The digest of everything passed to update; the object must not be updated afterwards.
  std::array<uint8_t, 32> finish();
  // finish() as 64 lowercase hex digits.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

// One-shot convenience: hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace pixelrec::checkpoints
