#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/errors.h"
#include "core/files.h"
#include "core/hash.h"
#include "features/cache_internal.h"

namespace pixelrec::features::cache_detail {

namespace {

constexpr char kMagic[8] = {'P', 'X', 'R', 'P', 'A', 'R', 'T', '1'};

template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// Reads from a byte buffer; any overrun marks the whole part invalid.
struct Cursor {
  const std::string& data;
  size_t pos = 0;
  bool ok = true;
  template <class T>
  T get() {
    T value{};
    if (pos + sizeof(T) > data.size()) {
      ok = false;
      return value;
    }
    std::memcpy(&value, data.data() + pos, sizeof(T));
    pos += sizeof(T);
    return value;
  }
  void bytes(void* dst, size_t n) {
    if (pos + n > data.size()) {
      ok = false;
      return;
    }
    std::memcpy(dst, data.data() + pos, n);
    pos += n;
  }
};

}  // namespace

std::filesystem::path part_path(const std::filesystem::path& parts_dir, size_t chunk) {
  char name[32];
  std::snprintf(name, sizeof name, "chunk_%06zu.part", chunk);
  return parts_dir / name;
}

void write_part(const std::filesystem::path& path, const std::string& fingerprint,
                const Part& part) {
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, static_cast<uint32_t>(fingerprint.size()));
  out += fingerprint;
  put(out, part.begin);
  put(out, part.count);
  put<uint32_t>(out, static_cast<uint32_t>(part.blocks.size()));
  for (const auto& b : part.blocks) {
    put<uint32_t>(out, static_cast<uint32_t>(b.modality.size()));
    out += b.modality;
    put<int32_t>(out, b.dim);
    put<uint64_t>(out, b.unusable);
    out.append(reinterpret_cast<const char*>(b.values.data()), b.values.size() * sizeof(float));
    out.append(reinterpret_cast<const char*>(b.present.data()), b.present.size());
  }
  put<uint64_t>(out, Hasher().add(out).digest());  // trailer: proves the file is complete
  write_file_atomic(path, out);
}

std::optional<Part> read_part(const std::filesystem::path& path, const std::string& fingerprint) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::string data;
  try {
    data = read_file(path);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (data.size() < sizeof kMagic + 8 || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return std::nullopt;
  uint64_t trailer;
  std::memcpy(&trailer, data.data() + data.size() - 8, 8);
  if (Hasher().add(std::string_view(data.data(), data.size() - 8)).digest() != trailer)
    return std::nullopt;
  Cursor c{data, sizeof kMagic};
  const auto fp_size = c.get<uint32_t>();
  if (!c.ok || fp_size != fingerprint.size() || data.compare(c.pos, fp_size, fingerprint) != 0)
    return std::nullopt;
  c.pos += fp_size;
  Part part;
  part.begin = c.get<uint32_t>();
  part.count = c.get<uint32_t>();
  const auto blocks = c.get<uint32_t>();
  for (uint32_t i = 0; c.ok && i < blocks; ++i) {
    PartBlock b;
    const auto name_size = c.get<uint32_t>();
    if (!c.ok || c.pos + name_size > data.size()) return std::nullopt;
    b.modality = data.substr(c.pos, name_size);
    c.pos += name_size;
    b.dim = c.get<int32_t>();
    b.unusable = c.get<uint64_t>();
    if (!c.ok || b.dim <= 0) return std::nullopt;
    b.values.resize(static_cast<size_t>(part.count) * static_cast<size_t>(b.dim));
    c.bytes(b.values.data(), b.values.size() * sizeof(float));
    b.present.resize(part.count);
    c.bytes(b.present.data(), b.present.size());
    part.blocks.push_back(std::move(b));
  }
  if (!c.ok || c.pos != data.size() - 8) return std::nullopt;
  return part;
}

}  // namespace pixelrec::features::cache_detail
