#include "checkpoints/tar_gz_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/errors.h"

namespace pixelrec::checkpoints {
namespace {

constexpr size_t kReadChunk = size_t{1} << 20;

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t write_to_stream(archive*, void* client, const void* buffer, size_t length) {
  auto* writer = static_cast<std::ostream*>(client);
  writer->write(static_cast<const char*>(buffer), static_cast<std::streamsize>(length));
  return *writer ? static_cast<la_ssize_t>(length) : -1;
}

}  // namespace

TarGzWriter::TarGzWriter(std::ostream& out, int level) : out_(out), archive_(archive_write_new()) {
  if (archive_ == nullptr) throw Error("libarchive could not allocate an archive writer");
  check(archive_write_set_format_pax_restricted(archive_), "choosing the pax format");
  check(archive_write_add_filter_gzip(archive_), "adding the gzip filter");
  check(archive_write_set_filter_option(archive_, "gzip", "compression-level",
                                        std::to_string(level).c_str()),
        "setting the gzip level");
  // No block padding beyond tar's own 10240-byte record: the stream goes to one regular file.
  check(archive_write_set_bytes_in_last_block(archive_, 1), "setting the last block");
  check(archive_write_open(archive_, &out_, nullptr, write_to_stream, nullptr),
        "opening the output stream");
}

TarGzWriter::~TarGzWriter() { archive_write_free(archive_); }

void TarGzWriter::check(int status, const std::string& what) {
  if (status >= ARCHIVE_WARN) return;
  const char* reason = archive_error_string(archive_);
  throw Error("writing the archive failed while " + what + ": " +
              (reason != nullptr ? reason : "unknown libarchive error") +
              (out_ ? "" : " (the output file could not be written: is the disk full?)"));
}

void TarGzWriter::write_header(const std::string& name, uint64_t size, int64_t mtime,
                               bool directory) {
  std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), directory ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(entry.get(), directory ? 0755 : 0644);
  archive_entry_set_size(entry.get(), directory ? 0 : static_cast<la_int64_t>(size));
  archive_entry_set_mtime(entry.get(), static_cast<time_t>(mtime), 0);
  check(archive_write_header(archive_, entry.get()), "adding '" + name + "'");
}

void TarGzWriter::write_data(const char* data, size_t size) {
  while (size > 0) {
    const la_ssize_t wrote = archive_write_data(archive_, data, size);
    if (wrote <= 0) check(ARCHIVE_FATAL, "writing file data");
    data += wrote;
    size -= static_cast<size_t>(wrote);
  }
}

void TarGzWriter::add_directory(const std::string& name, int64_t mtime) {
  write_header(name, 0, mtime, true);
}

void TarGzWriter::add_bytes(const std::string& name, std::string_view contents, int64_t mtime) {
  write_header(name, contents.size(), mtime, false);
  write_data(contents.data(), contents.size());
}

void TarGzWriter::add_file(const std::string& name, const std::filesystem::path& path,
                           uint64_t size, int64_t mtime, const Observer& observe) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot read '" + path.string() + "' for the archive: " + std::strerror(errno));
  write_header(name, size, mtime, false);
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
    write_data(chunk.data(), got);
    remaining -= got;
  }
  if (in.peek() != std::char_traits<char>::eof())
    throw Error("'" + path.string() + "' grew while being archived (expected " +
                std::to_string(size) + " bytes): stop whatever writes it and archive again");
}

void TarGzWriter::finish() {
  if (finished_) return;
  finished_ = true;
  check(archive_write_close(archive_), "finishing the archive");
  // Filter 0 is the tar stream as the format wrote it; -1 the bytes handed to the stream.
  bytes_in_ = static_cast<uint64_t>(archive_filter_bytes(archive_, 0));
  bytes_out_ = static_cast<uint64_t>(archive_filter_bytes(archive_, -1));
}

}  // namespace pixelrec::checkpoints
