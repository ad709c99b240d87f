// The built-in image extractor: layout of the vector, normalisation, determinism, which block
// reacts to colour and to edges, and how unreadable images are reported.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "features/image_builtin.h"
#include "support/test_support.h"

namespace pixelrec::features {
namespace {

using L = BuiltinImageLayout;

struct Rows {
  std::vector<float> values;
  std::vector<uint8_t> present;
  ExtractBatchStats stats;
  const float* row(size_t i) const { return values.data() + i * L::kDim; }
};

Rows extract(FeatureExtractor& extractor, const std::vector<ItemContent>& items) {
  std::vector<const ItemContent*> batch;
  for (const auto& item : items) batch.push_back(&item);
  Rows rows;
  rows.values.assign(items.size() * L::kDim, -1.0f);
  rows.present.assign(items.size(), 7);
  rows.stats = extractor.extract(batch, rows.values.data(), rows.present.data());
  return rows;
}

double squared(const float* v, int begin, int end) {
  double sum = 0;
  for (int i = begin; i < end; ++i) sum += static_cast<double>(v[i]) * v[i];
  return sum;
}

double squared_difference(const float* a, const float* b, int begin, int end) {
  double sum = 0;
  for (int i = begin; i < end; ++i) sum += (static_cast<double>(a[i]) - b[i]) * (a[i] - b[i]);
  return sum;
}

class BuiltinImage : public ::testing::Test {
 protected:
  std::string write_image(const std::string& name, const cv::Mat& image) {
    const auto path = dir_ / name;
    EXPECT_TRUE(cv::imwrite(path.string(), image));
    return path.string();
  }
  std::string uniform(const std::string& name, cv::Scalar bgr) {
    return write_image(name, cv::Mat(64, 64, CV_8UC3, bgr));
  }
  // A shape on a textured background: every block of the vector is non-trivial.
  std::string busy(const std::string& name) {
    cv::Mat image(96, 80, CV_8UC3, cv::Scalar(40, 160, 220));
    for (int y = 0; y < image.rows; y += 6) cv::line(image, {0, y}, {79, y + 20}, {200, 90, 30}, 2);
    cv::circle(image, {40, 48}, 20, {30, 30, 240}, cv::FILLED);
    return write_image(name, image);
  }

  test::ScratchDir dir_{"image_builtin"};
  std::unique_ptr<FeatureExtractor> extractor_ = make_builtin_image_extractor(FeaturesConfig{});
};

TEST_F(BuiltinImage, HasAFixedDimensionOfColourGradientAndLayoutBlocks) {
  EXPECT_EQ(extractor_->modality(), "image");
  EXPECT_EQ(extractor_->dim(), 165);
  EXPECT_EQ(L::kColourSize, 72);     // 8 hue × 3 saturation × 3 value
  EXPECT_EQ(L::kGradientSize, 45);   // 9 orientations × (2×2 cells + global)
  EXPECT_EQ(L::kLayoutSize, 48);     // 4×4 cells × 3 Lab channels
}

TEST_F(BuiltinImage, RowsHaveUnitNormAndArePresent) {
  const Rows rows = extract(*extractor_, {{"1", "", "", "", busy("busy.png")}});
  EXPECT_EQ(rows.present[0], 1);
  EXPECT_NEAR(squared(rows.row(0), 0, L::kDim), 1.0, 1e-6);
  EXPECT_GT(squared(rows.row(0), L::kGradientOffset, L::kLayoutOffset), 0.1);
  EXPECT_GT(squared(rows.row(0), L::kLayoutOffset, L::kDim), 0.1);
}

TEST_F(BuiltinImage, IsDeterministicAcrossCallsAndBatchPositions) {
  const std::string path = busy("busy.jpg");
  const Rows a = extract(*extractor_, {{"1", "", "", "", path}});
  const Rows b = extract(*extractor_, {{"2", "", "", "", uniform("red.png", {0, 0, 255})},
                                       {"1", "", "", "", path}});
  EXPECT_EQ(std::vector<float>(a.row(0), a.row(0) + L::kDim),
            std::vector<float>(b.row(1), b.row(1) + L::kDim));
}

TEST_F(BuiltinImage, RedAndBlueDifferOnlyInTheColourHistogram) {
  const Rows rows = extract(*extractor_, {{"red", "", "", "", uniform("red.png", {0, 0, 255})},
                                          {"blue", "", "", "", uniform("blue.png", {255, 0, 0})}});
  // Pure red: hue 0° (bin 0), full saturation and value (bins 2, 2). Pure blue: hue 240°, two
  // thirds in the 225° bin and one third in the 270° bin, square-rooted.
  const auto bin = [](int hue, int sat, int val) { return (hue * 3 + sat) * 3 + val; };
  EXPECT_NEAR(rows.row(0)[bin(0, 2, 2)], 1.0, 1e-4);
  EXPECT_NEAR(rows.row(1)[bin(5, 2, 2)], std::sqrt(2.0 / 3.0), 1e-4);
  EXPECT_NEAR(rows.row(1)[bin(6, 2, 2)], std::sqrt(1.0 / 3.0), 1e-4);
  const double colour = squared_difference(rows.row(0), rows.row(1), 0, L::kGradientOffset);
  const double rest = squared_difference(rows.row(0), rows.row(1), L::kGradientOffset, L::kDim);
  EXPECT_NEAR(colour, 2.0, 1e-4);
  EXPECT_LT(rest, 1e-6);
}

TEST_F(BuiltinImage, VerticalStripesPutGradientMassInTheHorizontalGradientBin) {
  cv::Mat stripes(128, 128, CV_8UC3, cv::Scalar(20, 20, 20));
  for (int x = 0; x < 128; x += 16) stripes.colRange(x, x + 8).setTo(cv::Scalar(230, 230, 230));
  const Rows rows = extract(*extractor_, {{"s", "", "", "", write_image("stripes.png", stripes)}});
  for (int hist = 0; hist < 5; ++hist) {
    const float* h = rows.row(0) + L::kGradientOffset + hist * L::kOrientationBins;
    EXPECT_GT(h[0], 0.3f) << "histogram " << hist;
    for (int b = 1; b < L::kOrientationBins; ++b) EXPECT_NEAR(h[b], 0.0f, 1e-6) << "bin " << b;
  }
}

TEST_F(BuiltinImage, ReportsAnUndecodableFileAndMasksItsRow) {
  const auto bad = dir_ / "bad.jpg";
  test::write_text(bad, "this is not a JPEG");
  const Rows rows = extract(*extractor_, {{"good", "", "", "", busy("good.png")},
                                          {"bad", "", "", "", bad.string()},
                                          {"gone", "", "", "", (dir_ / "missing.jpg").string()}});
  EXPECT_EQ(rows.present, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(rows.stats.unusable_inputs, 2u);
  EXPECT_EQ(rows.stats.unusable_examples,
            (std::vector<std::string>{
                "item bad: image '" + bad.string() + "' does not decode",
                "item gone: image '" + (dir_ / "missing.jpg").string() + "' does not exist"}));
  EXPECT_EQ(squared(rows.row(1), 0, L::kDim), 0.0);
  EXPECT_EQ(squared(rows.row(2), 0, L::kDim), 0.0);
}

TEST_F(BuiltinImage, MasksAnItemWithoutAnImageWithoutCountingIt) {
  const Rows rows = extract(*extractor_, {{"none", "title", "", "", ""}});
  EXPECT_EQ(rows.present[0], 0);
  EXPECT_EQ(rows.stats.unusable_inputs, 0u);
  EXPECT_EQ(squared(rows.row(0), 0, L::kDim), 0.0);
}

TEST_F(BuiltinImage, DescribesEveryParameter) {
  FeaturesConfig config;
  config.builtin_image_size = 48;
  const auto json = nlohmann::json::parse(make_builtin_image_extractor(config)->describe());
  EXPECT_EQ(json.at("name"), "builtin-image");
  EXPECT_EQ(json.at("version"), 1);
  EXPECT_EQ(json.at("dim"), 165);
  EXPECT_EQ(json.at("image_size"), 48);
  EXPECT_EQ(json.at("colour_histogram").at("hue_bins"), 8);
  EXPECT_EQ(json.at("gradient_histogram").at("orientation_bins"), 9);
  EXPECT_EQ(json.at("layout").at("grid"), 4);
  EXPECT_NE(json.dump(), nlohmann::json::parse(extractor_->describe()).dump());
}

}  // namespace
}  // namespace pixelrec::features
