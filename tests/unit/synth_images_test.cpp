// Item images: size and format, determinism, and the planted visual structure (images of one
// topic look alike; different topics look different under a plain colour histogram).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <opencv2/imgcodecs.hpp>

#include "data/synth.h"

namespace pixelrec::synth {
namespace {

constexpr int kTopics = 6;
constexpr int kPerTopic = 20;
constexpr int kSize = 72;

// 4x4x4 BGR histogram, L1-normalised.
std::vector<double> colour_histogram(const cv::Mat& image) {
  std::vector<double> h(64, 0.0);
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x) {
      const auto& p = image.at<cv::Vec3b>(y, x);
      h[static_cast<size_t>((p[0] / 64) * 16 + (p[1] / 64) * 4 + p[2] / 64)] += 1.0;
    }
  for (auto& v : h) v /= image.total();
  return h;
}

double l1(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d += std::fabs(a[i] - b[i]);
  return d;
}

class SynthTopicImages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    hists_ = new std::vector<std::vector<double>>;
    for (int t = 0; t < kTopics; ++t)
      for (int k = 0; k < kPerTopic; ++k)
        hists_->push_back(colour_histogram(
            render_item_image(42, kTopics, t, static_cast<size_t>(t * kPerTopic + k), kSize)));
  }
  static void TearDownTestSuite() { delete hists_; }
  static int topic_of(size_t i) { return static_cast<int>(i) / kPerTopic; }
  static std::vector<std::vector<double>>* hists_;
};
std::vector<std::vector<double>>* SynthTopicImages::hists_ = nullptr;

TEST_F(SynthTopicImages, SameTopicHistogramsAreMuchCloserThanDifferentTopics) {
  double same = 0, different = 0;
  size_t n_same = 0, n_different = 0;
  for (size_t i = 0; i < hists_->size(); ++i)
    for (size_t j = i + 1; j < hists_->size(); ++j) {
      const double d = l1((*hists_)[i], (*hists_)[j]);
      if (topic_of(i) == topic_of(j))
        same += d, ++n_same;
      else
        different += d, ++n_different;
    }
  same /= n_same;
  different /= n_different;
  // Measured: 0.83 within a topic, 1.88 across topics (L1 distance of histograms).
  EXPECT_LT(same * 2, different) << "same " << same << " different " << different;
}

TEST_F(SynthTopicImages, NearestNeighbourByColourSharesTheTopicFarAboveChance) {
  size_t hits = 0;
  for (size_t i = 0; i < hists_->size(); ++i) {
    size_t best = i;
    double best_d = std::numeric_limits<double>::max();
    for (size_t j = 0; j < hists_->size(); ++j) {
      if (j == i) continue;
      const double d = l1((*hists_)[i], (*hists_)[j]);
      if (d < best_d) best_d = d, best = j;
    }
    hits += topic_of(best) == topic_of(i);
  }
  // Measured 1.0 on seed 42; chance is 19/119 = 0.16.
  EXPECT_GT(static_cast<double>(hits) / hists_->size(), 0.9);
}

TEST(SynthImages, AreSquareColourImagesOfTheRequestedSize) {
  const cv::Mat image = render_item_image(42, 6, 2, 7, 96);
  EXPECT_EQ(image.rows, 96);
  EXPECT_EQ(image.cols, 96);
  EXPECT_EQ(image.type(), CV_8UC3);
}

TEST(SynthImages, AreAPureFunctionOfSeedTopicAndItem) {
  const cv::Mat a = render_item_image(42, 6, 2, 7, 72);
  const cv::Mat b = render_item_image(42, 6, 2, 7, 72);
  const cv::Mat c = render_item_image(43, 6, 2, 7, 72);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_L1), 0.0);
  EXPECT_GT(cv::norm(a, c, cv::NORM_L1), 0.0);
}

TEST(SynthImages, EncodeAsDecodableJpegAndLosslessPng) {
  const cv::Mat image = render_item_image(42, 6, 4, 3, 72);
  const auto jpeg = encode_image(image, false);
  ASSERT_GE(jpeg.size(), 4u);
  EXPECT_EQ(jpeg[0], 0xFF);
  EXPECT_EQ(jpeg[1], 0xD8);
  EXPECT_EQ(jpeg[jpeg.size() - 2], 0xFF);  // ends with the EOI marker
  EXPECT_EQ(jpeg[jpeg.size() - 1], 0xD9);
  const cv::Mat decoded = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  EXPECT_EQ(decoded.size(), image.size());
  const cv::Mat png = cv::imdecode(encode_image(image, true), cv::IMREAD_COLOR);
  EXPECT_EQ(cv::norm(png, image, cv::NORM_L1), 0.0);
}

}  // namespace
}  // namespace pixelrec::synth
