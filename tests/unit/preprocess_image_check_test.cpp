// Image validation and re-encoding (SPEC §3 step 3) on images held in memory.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "core/rng.h"
#include "data/image_check.h"

namespace pixelrec {
namespace {

std::string encode(int width, int height, const std::string& extension) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 3), static_cast<uchar>(y * 5),
                                            static_cast<uchar>((x + y) * 2));
  std::vector<uchar> bytes;
  EXPECT_TRUE(cv::imencode(extension, image, bytes));
  return std::string(bytes.begin(), bytes.end());
}

std::string random_bytes(size_t n) {
  Rng rng(7);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng.below(256));
  return bytes;
}

std::string reason(const ImageCheckResult& result) {
  return result.reason == nullptr ? "ok" : result.reason;
}

const ImageValidationConfig kDefaults;

TEST(ImageCheck, AcceptsCompleteJpegAndPngWithTheirSize) {
  const ImageCheckResult jpeg = check_image(encode(96, 80, ".jpg"), kDefaults);
  EXPECT_EQ(reason(jpeg), "ok");
  EXPECT_EQ(jpeg.size.width, 96);
  EXPECT_EQ(jpeg.size.height, 80);
  const ImageCheckResult png = check_image(encode(64, 100, ".png"), kDefaults);
  EXPECT_EQ(reason(png), "ok");
  EXPECT_EQ(png.size.width, 64);
  EXPECT_EQ(png.size.height, 100);
}

TEST(ImageCheck, AcceptsJpegWithTrailingPadding) {
  EXPECT_EQ(reason(check_image(encode(96, 96, ".jpg") + std::string(16, '\0'), kDefaults)), "ok");
}

TEST(ImageCheck, RejectsJpegCutInHalfAsTruncated) {
  const std::string jpeg = encode(96, 96, ".jpg");
  EXPECT_EQ(reason(check_image(jpeg.substr(0, jpeg.size() / 2), kDefaults)), "image_truncated");
}

TEST(ImageCheck, RejectsPngWithoutIendAsTruncated) {
  const std::string png = encode(96, 96, ".png");
  ASSERT_EQ(png.substr(png.size() - 8, 4), "IEND");
  EXPECT_EQ(reason(check_image(png.substr(0, png.size() - 12), kDefaults)), "image_truncated");
}

TEST(ImageCheck, RejectsRandomBytesAsUndecodable) {
  EXPECT_EQ(reason(check_image(random_bytes(5000), kDefaults)), "image_undecodable");
  EXPECT_EQ(reason(check_image("", kDefaults)), "image_undecodable");
}

TEST(ImageCheck, RejectsCompleteJpegWithGarbageBodyAsUndecodable) {
  const std::string garbage = std::string("\xFF\xD8\xFF", 3) + random_bytes(300) + "\xFF\xD9";
  EXPECT_EQ(reason(check_image(garbage, kDefaults)), "image_undecodable");
}

TEST(ImageCheck, RejectsImagesBelowTheMinimumSize) {
  EXPECT_EQ(reason(check_image(encode(20, 20, ".jpg"), kDefaults)), "image_too_small");
  EXPECT_EQ(reason(check_image(encode(200, 63, ".png"), kDefaults)), "image_too_small");
  ImageValidationConfig lenient;
  lenient.min_width = lenient.min_height = 16;
  EXPECT_EQ(reason(check_image(encode(20, 20, ".jpg"), lenient)), "ok");
}

TEST(ImageCheck, WithoutCorruptionCheckOnlyTheHeaderIsRead) {
  ImageValidationConfig config;
  config.check_corrupted = false;
  const std::string jpeg = encode(96, 72, ".jpg");
  const ImageCheckResult truncated = check_image(jpeg.substr(0, jpeg.size() / 2), config);
  EXPECT_EQ(reason(truncated), "ok");
  EXPECT_EQ(truncated.size.width, 96);
  EXPECT_EQ(truncated.size.height, 72);
  EXPECT_EQ(reason(check_image(random_bytes(100), config)), "image_undecodable");
}

TEST(ImageCheck, ReadsSizeFromHeaders) {
  const auto jpeg = read_image_size(encode(33, 21, ".jpg"));
  ASSERT_TRUE(jpeg);
  EXPECT_EQ(jpeg->width, 33);
  EXPECT_EQ(jpeg->height, 21);
  const auto png = read_image_size(encode(7, 9, ".png"));
  ASSERT_TRUE(png);
  EXPECT_EQ(png->width, 7);
  EXPECT_EQ(png->height, 9);
  EXPECT_FALSE(read_image_size("GIF89a"));
}

TEST(ImageCheck, RecompressesOnlyAboveTheByteOrPixelThresholds) {
  ImageCompressionConfig config;  // 500 KB, 2048x2048
  EXPECT_FALSE(needs_recompression(500 * 1024, {2048, 2048}, config));
  EXPECT_TRUE(needs_recompression(500 * 1024 + 1, {10, 10}, config));
  EXPECT_TRUE(needs_recompression(1000, {2049, 10}, config));
  EXPECT_TRUE(needs_recompression(1000, {10, 2049}, config));
  config.resize_if_pixels_larger_than.reset();
  EXPECT_FALSE(needs_recompression(1000, {5000, 5000}, config));
  config.enabled = false;
  EXPECT_FALSE(needs_recompression(10'000'000, {5000, 5000}, config));
}

TEST(ImageCheck, RecompressionDownscalesTheLongestEdgeButNeverUpscales) {
  ImageCompressionConfig config;
  config.resize_target_longest_edge = 50;
  config.target_quality = 80;
  std::vector<unsigned char> out;
  ASSERT_TRUE(recompress_to_jpeg(encode(200, 100, ".png"), config, out));
  const auto size = read_image_size(std::string(out.begin(), out.end()));
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 50);
  EXPECT_EQ(size->height, 25);
  EXPECT_EQ(sniff_image_format(std::string(out.begin(), out.end())), ImageFormat::kJpeg);

  ASSERT_TRUE(recompress_to_jpeg(encode(40, 64, ".png"), config, out));
  EXPECT_EQ(read_image_size(std::string(out.begin(), out.end()))->width, 31);
  EXPECT_EQ(read_image_size(std::string(out.begin(), out.end()))->height, 50);
  config.resize_target_longest_edge = 1024;
  ASSERT_TRUE(recompress_to_jpeg(encode(40, 64, ".png"), config, out));
  EXPECT_EQ(read_image_size(std::string(out.begin(), out.end()))->height, 64);
  EXPECT_FALSE(recompress_to_jpeg(random_bytes(100), config, out));
}

}  // namespace
}  // namespace pixelrec
