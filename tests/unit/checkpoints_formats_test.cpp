// The byte formats the archive is made of: SHA-256 against the FIPS 180-4 vectors and
// sha256sum, ustar headers (fields, checksum, name split, the 8 GiB limit), and gzip streams that
// the system's gzip decompresses to the original bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <string>

#include "checkpoints/gzip_writer.h"
#include "checkpoints/sha256.h"
#include "checkpoints/tar_writer.h"
#include "checkpoints_test_fixture.h"
#include "core/errors.h"
#include "support/test_support.h"

namespace pixelrec::checkpoints {
namespace {

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

uint64_t octal_field(const std::array<char, kTarBlock>& h, size_t at, size_t width) {
  return std::stoull(std::string(h.data() + at, strnlen(h.data() + at, width)), nullptr, 8);
}

TEST(CheckpointsUstar, HeaderHoldsNameSizeModeAndAValidChecksum) {
  const auto h = ustar_header({"demo/best.pt", 1234567, 1700000000, false});
  EXPECT_STREQ(h.data(), "demo/best.pt");
  EXPECT_EQ(octal_field(h, 100, 8), 0644u);
  EXPECT_EQ(octal_field(h, 124, 12), 1234567u);
  EXPECT_EQ(octal_field(h, 136, 12), 1700000000u);
  EXPECT_EQ(h[156], '0');
  EXPECT_EQ(std::string(h.data() + 257, 6), std::string("ustar\0", 6));
  EXPECT_EQ(std::string(h.data() + 263, 2), "00");
  uint32_t sum = 0;
  for (size_t i = 0; i < h.size(); ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  EXPECT_EQ(octal_field(h, 148, 8), sum);

  const auto d = ustar_header({"demo", 0, 5, true});
  EXPECT_STREQ(d.data(), "demo/");
  EXPECT_EQ(d[156], '5');
  EXPECT_EQ(octal_field(d, 100, 8), 0755u);
}

TEST(CheckpointsUstar, LongNamesUseThePrefixFieldAndTooLongOnesAreRejected) {
  const std::string run(120, 'r');
  const auto h = ustar_header({run + "/last.pt", 1, 0, false});
  EXPECT_STREQ(h.data(), "last.pt");
  EXPECT_EQ(std::string(h.data() + 345), run);
  const std::string huge(200, 'x');
  EXPECT_NE(error_of([&] {
              ustar_header({huge + "/last.pt", 1, 0, false});
            }).find("too long"),
            std::string::npos);
}

TEST(CheckpointsUstar, SizesBeyondEightGibAreAClearError) {
  EXPECT_NO_THROW(ustar_header({"demo/last.pt", kUstarMaxFileBytes, 0, false}));
  const std::string message = error_of([] {
    ustar_header({"demo/last.pt", kUstarMaxFileBytes + 1, 0, false});
  });
  EXPECT_NE(message.find("demo/last.pt"), std::string::npos) << message;
  EXPECT_NE(message.find("8 GiB - 1"), std::string::npos) << message;
  EXPECT_EQ(kUstarMaxFileBytes, (uint64_t{1} << 33) - 1);
}

TEST(CheckpointsUstar, WriterPadsEntriesAndEndsOnAWholeRecord) {
  std::string tar;
  TarWriter writer([&](const char* p, size_t n) { tar.append(p, n); });
  writer.add_directory("demo", 0);
  writer.add_bytes("demo/a.txt", "hello", 0);
  writer.finish();
  EXPECT_EQ(tar.size(), 10240u);  // 3 blocks of content + 2 end blocks, padded to 20 blocks
  EXPECT_EQ(tar.substr(1024, 5), "hello");
  EXPECT_EQ(tar.substr(1029, 10240 - 1029), std::string(10240 - 1029, '\0'));
}

TEST(CheckpointsUstar, AddFileRejectsAFileWhoseSizeChanged) {
  ScratchDir dir("ckpt_tar_size");
  test::write_text(dir / "f", "12345");
  std::string tar;
  TarWriter writer([&](const char* p, size_t n) { tar.append(p, n); });
  const auto ignore = [](const char*, size_t) {};
  EXPECT_NE(error_of([&] { writer.add_file("x/f", dir / "f", 6, 0, ignore); }).find("shrank"),
            std::string::npos);
  EXPECT_NE(error_of([&] { writer.add_file("x/f", dir / "f", 4, 0, ignore); }).find("grew"),
            std::string::npos);
}

TEST(CheckpointsGzip, SystemGzipRestoresTheExactBytes) {
  ScratchDir dir("ckpt_gzip");
  const std::string data = fake_bytes(700000, 5) + std::string(300000, 'z');
  std::ostringstream compressed;
  GzipWriter gzip(compressed, 6);
  gzip.write(data.substr(0, 12345));
  gzip.write(data.substr(12345));
  gzip.finish();
  const std::string bytes = compressed.str();
  ASSERT_GE(bytes.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
  EXPECT_EQ(bytes[2], 8);  // deflate
  EXPECT_EQ(gzip.bytes_in(), data.size());
  EXPECT_EQ(gzip.bytes_out(), bytes.size());
  EXPECT_LT(bytes.size(), data.size());  // the 300k run of 'z' compresses
  test::write_text(dir / "x.gz", bytes);
  const auto result = test::run_command("gzip -dc " + test::shell_quote((dir / "x.gz").string()) +
                                        " > " + test::shell_quote((dir / "x").string()));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(test::read_text(dir / "x"), data);
}

}  // namespace
}  // namespace pixelrec::checkpoints
