// The byte formats the archive is made of: SHA-256 against the FIPS 180-4 vectors and
// sha256sum, and gzip'd pax archives that the system's tar lists and restores byte for byte.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>

#include "checkpoints/sha256.h"
#include "checkpoints/tar_gz_writer.h"
#include "checkpoints_test_fixture.h"
#include "core/errors.h"
#include "support/test_support.h"

namespace pixelrec::checkpoints {
namespace {

namespace fs = std::filesystem;
using test::ScratchDir;
using testing::error_of;
using testing::fake_bytes;

TEST(CheckpointsSha256, MatchesTheStandardTestVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(CheckpointsSha256, ChunkedUpdatesEqualOneShotAtEveryPaddingBoundary) {
  for (size_t size : {55, 56, 63, 64, 65, 119, 120, 127, 128, 1000}) {
    const std::string data = fake_bytes(size, 3);
    for (size_t chunk : {1, 7, 64, 100}) {
      Sha256 h;
      for (size_t at = 0; at < size; at += chunk) h.update(data.substr(at, chunk));
      EXPECT_EQ(h.hex_digest(), sha256_hex(data)) << "size " << size << " chunk " << chunk;
    }
  }
}

TEST(CheckpointsSha256, AgreesWithSha256sum) {
  ScratchDir dir("ckpt_sha");
  const std::string data = fake_bytes(300000, 9);
  test::write_text(dir / "blob", data);
  const auto result = test::run_command("sha256sum " + test::shell_quote((dir / "blob").string()));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.substr(0, 64), sha256_hex(data));
}

struct TarListing {
  int exit_code;
  std::string output;
};

// Extracts `archive` with the system's tar into `into` and returns `tar -tzvf`'s listing.
TarListing list_and_extract(const fs::path& archive, const fs::path& into) {
  fs::create_directories(into);
  const auto extract = test::run_command("tar -xzf " + test::shell_quote(archive.string()) +
                                         " -C " + test::shell_quote(into.string()));
  if (extract.exit_code != 0) return {extract.exit_code, extract.output};
  const auto listing = test::run_command("TZ=UTC tar -tzvf " + test::shell_quote(archive.string()));
  return {listing.exit_code, listing.output};
}

std::string write_archive(const fs::path& path, const std::function<void(TarGzWriter&)>& fill,
                          uint64_t* bytes_in = nullptr, uint64_t* bytes_out = nullptr) {
  std::ostringstream out;
  TarGzWriter tar(out, 6);
  fill(tar);
  tar.finish();
  if (bytes_in != nullptr) *bytes_in = tar.bytes_in();
  if (bytes_out != nullptr) *bytes_out = tar.bytes_out();
  test::write_text(path, out.str());
  return out.str();
}

TEST(CheckpointsTarGz, SystemTarRestoresNamesModesTimesAndBytes) {
  ScratchDir dir("ckpt_targz");
  const std::string blob = fake_bytes(700000, 5) + std::string(300000, 'z');
  test::write_text(dir / "blob", blob);
  std::string streamed;
  uint64_t in = 0, out = 0;
  const std::string bytes = write_archive(
      dir / "a.tar.gz",
      [&](TarGzWriter& tar) {
        tar.add_directory("demo", 1700000000);
        tar.add_bytes("demo/a.txt", "hello", 1700000001);
        tar.add_file("demo/best.pt", dir / "blob", blob.size(), 1700000002,
                     [&](const char* p, size_t n) { streamed.append(p, n); });
      },
      &in, &out);
  EXPECT_EQ(streamed, blob);  // the observer saw every byte, in order
  ASSERT_GE(bytes.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
  EXPECT_EQ(out, bytes.size());
  EXPECT_GE(in, blob.size() + 5 + 4 * 512);  // contents plus a header each and the end blocks
  EXPECT_LT(out, in);                        // the 300k run of 'z' compresses

  const auto listing = list_and_extract(dir / "a.tar.gz", dir / "x");
  ASSERT_EQ(listing.exit_code, 0) << listing.output;
  EXPECT_EQ(test::read_text(dir / "x/demo/a.txt"), "hello");
  EXPECT_EQ(test::read_text(dir / "x/demo/best.pt"), blob);
  EXPECT_NE(listing.output.find("drwxr-xr-x"), std::string::npos) << listing.output;
  EXPECT_NE(listing.output.find("-rw-r--r--"), std::string::npos) << listing.output;
  EXPECT_NE(listing.output.find(std::to_string(blob.size()) + " 2023-11-14 22:13 demo/best.pt"),
            std::string::npos)
      << listing.output;
}

TEST(CheckpointsTarGz, PathsLongerThanUstarHoldsRoundTrip) {
  // ustar's name + prefix hold 255 bytes; pax extended headers carry the rest.
  ScratchDir dir("ckpt_targz_long");
  const std::string run(200, 'r');
  const std::string name = run + "/" + std::string(120, 'c') + ".pt";
  write_archive(dir / "long.tar.gz", [&](TarGzWriter& tar) {
    tar.add_directory(run, 0);
    tar.add_bytes(name, "weights", 0);
  });
  const auto listing = list_and_extract(dir / "long.tar.gz", dir / "x");
  ASSERT_EQ(listing.exit_code, 0) << listing.output;
  EXPECT_EQ(test::read_text(dir / "x" / name), "weights");
}

TEST(CheckpointsTarGz, AddFileRejectsAFileWhoseSizeChanged) {
  ScratchDir dir("ckpt_tar_size");
  test::write_text(dir / "f", "12345");
  std::ostringstream out;
  const auto ignore = [](const char*, size_t) {};
  {
    TarGzWriter writer(out, 6);
    EXPECT_NE(error_of([&] { writer.add_file("x/f", dir / "f", 6, 0, ignore); }).find("shrank"),
              std::string::npos);
  }
  {
    TarGzWriter writer(out, 6);
    EXPECT_NE(error_of([&] { writer.add_file("x/f", dir / "f", 4, 0, ignore); }).find("grew"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace pixelrec::checkpoints
