#include "checkpoints/tar_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/errors.h"

namespace pixelrec::checkpoints {
namespace {

constexpr size_t kNameField = 100, kPrefixField = 155;
constexpr size_t kRecordBytes = 20 * kTarBlock;
constexpr size_t kReadChunk = 1 << 20;

// Writes `value` as `digits` zero-padded octal digits (the caller checked that it fits).
void put_octal(char* field, size_t digits, uint64_t value) {
  for (size_t i = digits; i > 0; --i, value >>= 3)
    field[i - 1] = static_cast<char>('0' + (value & 7));
}

// Splits `name` into ustar's prefix and name fields at a '/', preferring the longest name.
bool split_name(const std::string& name, std::string& prefix, std::string& rest) {
  if (name.size() <= kNameField) {
    prefix.clear();
    rest = name;
    return true;
  }
  for (size_t slash = name.find('/'); slash != std::string::npos;
       slash = name.find('/', slash + 1)) {
    if (slash <= kPrefixField && name.size() - slash - 1 <= kNameField && slash > 0) {
      prefix = name.substr(0, slash);
      rest = name.substr(slash + 1);
      return !rest.empty();
    }
  }
  return false;
}

}  // namespace

std::array<char, kTarBlock> ustar_header(const TarEntryHeader& entry) {
  if (entry.size > kUstarMaxFileBytes)
    throw Error("'" + entry.name + "' is " + std::to_string(entry.size) +
                " bytes; the ustar format holds at most " + std::to_string(kUstarMaxFileBytes) +
                " bytes (8 GiB - 1) per file: archive such files with another tool");
  std::string prefix, name;
  if (!split_name(entry.name, prefix, name))
    throw Error("archive path '" + entry.name +
                "' is too long for ustar (100-byte name after a 155-byte folder prefix): use a "
                "shorter run name");
  if (entry.directory) name += '/';
  if (name.size() > kNameField)
    throw Error("archive folder '" + entry.name +
                "' is too long for ustar: use a shorter run name");

  std::array<char, kTarBlock> h{};
  std::memcpy(h.data(), name.data(), name.size());                  // name[100] at 0
  put_octal(h.data() + 100, 7, entry.directory ? 0755 : 0644);      // mode
  put_octal(h.data() + 108, 7, 0);                                  // uid
  put_octal(h.data() + 116, 7, 0);                                  // gid
  put_octal(h.data() + 124, 11, entry.directory ? 0 : entry.size);  // size
  put_octal(h.data() + 136, 11,  // mtime, clamped to what 11 octal digits hold
            std::min(static_cast<uint64_t>(std::max<int64_t>(entry.mtime, 0)), kUstarMaxFileBytes));
  h[156] = entry.directory ? '5' : '0';                       // typeflag
  std::memcpy(h.data() + 257, "ustar", 6);                    // magic "ustar\0"
  std::memcpy(h.data() + 263, "00", 2);                       // version
  put_octal(h.data() + 329, 7, 0);                            // devmajor
  put_octal(h.data() + 337, 7, 0);                            // devminor
  std::memcpy(h.data() + 345, prefix.data(), prefix.size());  // prefix[155]
  // The checksum is the byte sum of the header with its own field read as eight spaces.
  std::memset(h.data() + 148, ' ', 8);
  uint32_t sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  put_octal(h.data() + 148, 6, sum);  // six digits, NUL, space
  h[154] = '\0';
  h[155] = ' ';
  return h;
}

void TarWriter::emit(const char* data, size_t size) {
  sink_(data, size);
  written_ += size;
}

void TarWriter::pad_to_block() {
  static const char kZeros[kTarBlock] = {};
  const size_t rest = written_ % kTarBlock;
  if (rest != 0) emit(kZeros, kTarBlock - rest);
}

void TarWriter::add_directory(const std::string& name, int64_t mtime) {
  const auto header = ustar_header({name, 0, mtime, true});
  emit(header.data(), header.size());
}

void TarWriter::add_bytes(const std::string& name, std::string_view contents, int64_t mtime) {
  const auto header = ustar_header({name, contents.size(), mtime, false});
  emit(header.data(), header.size());
  emit(contents.data(), contents.size());
  pad_to_block();
}

void TarWriter::add_file(const std::string& name, const std::filesystem::path& path, uint64_t size,
                         int64_t mtime, const std::function<void(const char*, size_t)>& observe) {
  const auto header = ustar_header({name, size, mtime, false});
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot read '" + path.string() + "' for the archive: " + std::strerror(errno));
  emit(header.data(), header.size());
  std::vector<char> chunk(kReadChunk);
  uint64_t remaining = size;
  while (remaining > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, chunk.size()));
    in.read(chunk.data(), static_cast<std::streamsize>(want));
    const auto got = static_cast<size_t>(in.gcount());
    if (got != want)
      throw Error("'" + path.string() + "' shrank while being archived (expected " +
                  std::to_string(size) + " bytes): stop whatever writes it and archive again");
    observe(chunk.data(), got);
    emit(chunk.data(), got);
    remaining -= got;
  }
  if (in.peek() != std::char_traits<char>::eof())
    throw Error("'" + path.string() + "' grew while being archived (expected " +
                std::to_string(size) + " bytes): stop whatever writes it and archive again");
  pad_to_block();
}

void TarWriter::finish() {
  static const char kZeros[kTarBlock] = {};
  emit(kZeros, kTarBlock);
  emit(kZeros, kTarBlock);
  const size_t rest = written_ % kRecordBytes;
  for (size_t left = rest == 0 ? 0 : kRecordBytes - rest; left > 0; left -= kTarBlock)
    emit(kZeros, kTarBlock);
}

}  // namespace pixelrec::checkpoints
