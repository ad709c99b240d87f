// Extraction parts (the resumable units of `pixelrec cache`): a part round-trips exactly, and a
// truncated, altered or foreign part is treated as absent so its chunk is extracted again.
#include <gtest/gtest.h>

#include "core/files.h"
#include "features/cache_internal.h"
#include "support/test_support.h"

namespace pixelrec::features::cache_detail {
namespace {

Part sample_part() {
  Part p;
  p.begin = 64;
  p.count = 3;
  p.blocks.push_back({"image", 2, {1, 2, 3, 4, 5, 6}, {1, 0, 1}, 1});
  p.blocks.push_back({"numeric", 1, {-1, 0.5, 7}, {1, 1, 1}, 0});
  return p;
}

TEST(CacheParts, RoundTripExactly) {
  test::ScratchDir dir("parts");
  const auto path = part_path(dir.path(), 1);
  EXPECT_EQ(path.filename(), "chunk_000001.part");
  write_part(path, "fp1", sample_part());
  const auto back = read_part(path, "fp1");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->begin, 64u);
  EXPECT_EQ(back->count, 3u);
  ASSERT_EQ(back->blocks.size(), 2u);
  EXPECT_EQ(back->blocks[0].modality, "image");
  EXPECT_EQ(back->blocks[0].values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(back->blocks[0].present, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(back->blocks[0].unusable, 1u);
  EXPECT_EQ(back->blocks[1].values, (std::vector<float>{-1, 0.5, 7}));
}

TEST(CacheParts, DamagedOrForeignPartsAreIgnored) {
  test::ScratchDir dir("parts_bad");
  const auto path = part_path(dir.path(), 0);
  EXPECT_FALSE(read_part(path, "fp1").has_value());  // missing
  write_part(path, "fp1", sample_part());
  EXPECT_FALSE(read_part(path, "fp2").has_value());  // another fingerprint
  std::string bytes = read_file(path);
  write_file_atomic(path, bytes.substr(0, bytes.size() / 2));
  EXPECT_FALSE(read_part(path, "fp1").has_value());  // truncated
  bytes[20] ^= 0x5a;
  write_file_atomic(path, bytes);
  EXPECT_FALSE(read_part(path, "fp1").has_value());  // altered
}

}  // namespace
}  // namespace pixelrec::features::cache_detail
