// A fast, stable 64-bit hash for fingerprints (inputs + config → "did anything change?").
// Not cryptographic; stable across runs, machines and builds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace pixelrec {

class Hasher {
 public:
  Hasher& add(std::string_view bytes);
  Hasher& add(uint64_t value);
  Hasher& add_file_contents(const std::filesystem::path& path);
  uint64_t digest() const;
  std::string hex() const;  // 16 hex digits

 private:
  uint64_t state_ = 0x9E3779B97F4A7C15ull;
  uint64_t length_ = 0;
};

std::string to_hex(uint64_t value);

}  // namespace pixelrec
