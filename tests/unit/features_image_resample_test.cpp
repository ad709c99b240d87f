// Pillow-exact bilinear resizing and torchvision's Resize + CenterCrop geometry. Bit-exactness
// against Pillow itself is checked in tests/pretrained (it needs Python); here, values worked out
// by hand from Pillow's algorithm.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "features/image_resample.h"

namespace pixelrec::features {
namespace {

cv::Mat row_image(const std::vector<uint8_t>& values) {
  cv::Mat image(1, static_cast<int>(values.size()), CV_8UC1);
  for (size_t i = 0; i < values.size(); ++i) image.at<uint8_t>(0, static_cast<int>(i)) = values[i];
  return image;
}

TEST(ResizeLikePillow, ShrinkingAveragesOverTheWidenedTriangleFilter) {
  // 4 → 2: each output pixel spans 2 inputs, the triangle reaches 2 pixels either side of its
  // centre (1.0 and 3.0): weights 0.75 0.75 0.25 (first), 0.25 0.75 0.75 (second), / 1.75.
  const cv::Mat out = resize_like_pillow(row_image({0, 100, 200, 255}), {2, 1});
  EXPECT_EQ(out.at<uint8_t>(0, 0), 71);   // (100·0.75 + 200·0.25) / 1.75 = 71.4
  EXPECT_EQ(out.at<uint8_t>(0, 1), 209);  // (100·0.25 + 200·0.75 + 255·0.75) / 1.75 = 209.3
}

TEST(ResizeLikePillow, EnlargingInterpolatesBetweenNeighbours) {
  // 2 → 4: centres at 0.25, 0.75, 1.25, 1.75 of the input; the edges clamp.
  const cv::Mat out = resize_like_pillow(row_image({0, 200}), {4, 1});
  EXPECT_EQ(out.at<uint8_t>(0, 0), 0);
  EXPECT_EQ(out.at<uint8_t>(0, 1), 50);
  EXPECT_EQ(out.at<uint8_t>(0, 2), 150);
  EXPECT_EQ(out.at<uint8_t>(0, 3), 200);
}

TEST(ResizeLikePillow, KeepsConstantImagesAndSizeAndChannels) {
  const cv::Mat flat(37, 53, CV_8UC3, cv::Scalar(12, 130, 250));
  for (const cv::Size size : {cv::Size(20, 11), cv::Size(90, 64), cv::Size(53, 10)}) {
    const cv::Mat out = resize_like_pillow(flat, size);
    EXPECT_EQ(out.size(), size);
    EXPECT_EQ(out.type(), CV_8UC3);
    EXPECT_EQ(cv::norm(out, cv::Mat(size, CV_8UC3, cv::Scalar(12, 130, 250)), cv::NORM_INF), 0);
  }
  EXPECT_EQ(cv::norm(resize_like_pillow(flat, flat.size()), flat, cv::NORM_INF), 0);
}

TEST(ResizeAndCentreCrop, ShorterSideToTheEdgeThenTheCentreSquare) {
  // 640 × 480 → 341 × 256 (341.3 truncated); crop 224 at x = round(58.5) = 58 (half to even).
  cv::Mat image(256, 341, CV_8UC3);
  cv::randu(image, 0, 256);
  const cv::Mat crop = resize_and_centre_crop(image, 256, 224);  // already at 256: no resampling
  EXPECT_EQ(crop.size(), cv::Size(224, 224));
  EXPECT_EQ(cv::norm(crop, image(cv::Rect(58, 16, 224, 224)), cv::NORM_INF), 0);
  const cv::Mat big(480, 640, CV_8UC3, cv::Scalar(1, 2, 3));
  EXPECT_EQ(resize_and_centre_crop(big, 256, 224).size(), cv::Size(224, 224));
}

}  // namespace
}  // namespace pixelrec::features
