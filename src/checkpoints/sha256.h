// SHA-256, streaming, computed by OpenSSL's libcrypto: the archive manifest records one digest per
// file so that a restored checkpoint can be verified with `sha256sum`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pixelrec::checkpoints {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(const void* data, size_t size);
  Sha256& update(std::string_view bytes) { return update(bytes.data(), bytes.size()); }
  // The digest of everything passed to update; the object must not be updated afterwards.
  std::array<uint8_t, 32> finish();
  // finish() as 64 lowercase hex digits.
  std::string hex_digest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
  bool finished_ = false;
};

// One-shot convenience: hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace pixelrec::checkpoints
