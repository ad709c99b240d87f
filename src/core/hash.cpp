#include "core/hash.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/errors.h"

namespace pixelrec {

namespace {
inline uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}
}  // namespace

Hasher& Hasher::add(std::string_view bytes) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    state_ = mix(state_ ^ w) + 0x632BE59BD9B4E019ull;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  state_ = mix(state_ ^ tail ^ (static_cast<uint64_t>(n) << 56));
  length_ += bytes.size();
  return *this;
}

Hasher& Hasher::add(uint64_t value) {
  state_ = mix(state_ ^ value) + 0x2545F4914F6CDD1Dull;
  length_ += 8;
  return *this;
}

Hasher& Hasher::add_file_contents(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path.string() + "' to fingerprint it");
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    add(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
  }
  return *this;
}

uint64_t Hasher::digest() const { return mix(state_ ^ length_); }

std::string Hasher::hex() const { return to_hex(digest()); }

std::string to_hex(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace pixelrec
