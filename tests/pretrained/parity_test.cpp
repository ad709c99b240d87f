// Parity of the exported pretrained backbones (`make backbones`) with the Python packages they
// come from: pixelrec's WordPiece + TorchScript MiniLM against sentence-transformers, and its image
// pipeline (OpenCV decode, Pillow-exact resize, crop, normalise) + TorchScript EfficientNet-Lite0
// against Pillow + torchvision + the package's eager model. The Python side runs once, in the venv
// that holds the packages (tests/pretrained/reference.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "features/backbone.h"
#include "features/extractor.h"
#include "features/image_resample.h"
#include "features/wordpiece.h"
#include "pretrained/exports.h"
#include "support/test_support.h"

namespace pixelrec::features {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kMinCosine = 0.9999;

std::string long_text() {
  std::string text;
  for (int i = 0; i < 90; ++i)
    text += "Item " + std::to_string(i) + " of the catalogue, described at length; ";
  return text;  // ~900 pieces: truncated to the model's 256 tokens
}

const std::vector<std::string>& sentences() {
  static const std::vector<std::string> list = {
      "A red bicycle leaning against a brick wall",
      "Café crème brûlée à la Ñandú — naïve façade, Ångström",
      "Hello, world! (Really?) \"quoted\" it's 3.14 — #hashtags & @mentions; 50% off...",
      "iPhone 15 Pro Max 256GB — $1,199.99 [refurbished] {like-new} <sale>",
      "中文标题：北京烤鸭，美味！",
      "日本語のテキスト と カタカナ、한국어 텍스트",
      "emoji 😀🎉 party 👍🏽 family 👨‍👩‍👧 ❤️",
      "İstanbul ΣΊΣΥΦΟΣ ǅemal ﬁne ß ẞ",
      "tab\tnew\nline\u00a0nbsp\u2028separator zero\u200bwidth private\ue000use",
      "antidisestablishmentarianism " + std::string(120, 'x') + " unaffable",
      "word",
      long_text(),
  };
  return list;
}

// Test images with varied content, sizes, formats and colour types.
std::vector<fs::path> write_images(const fs::path& dir) {
  cv::RNG rng(7);
  auto scene = [&](int width, int height) {
    cv::Mat image(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        image.at<cv::Vec3b>(y, x) =
            cv::Vec3b(static_cast<uchar>(255 * x / width), static_cast<uchar>(255 * y / height),
                      static_cast<uchar>((x * y) % 256));
    for (int i = 0; i < 12; ++i) {
      const cv::Point centre(rng.uniform(0, width), rng.uniform(0, height));
      const cv::Scalar colour(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
      if (i % 2)
        cv::circle(image, centre, rng.uniform(5, std::max(6, width / 4)), colour, cv::FILLED);
      else
        cv::rectangle(image, centre, centre + cv::Point(rng.uniform(5, 80), rng.uniform(5, 80)),
                      colour, 3);
    }
    cv::Mat noise(height, width, CV_8UC3);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 24);
    return cv::Mat(image + noise);
  };
  std::vector<fs::path> paths;
  auto save = [&](const std::string& name, const cv::Mat& image) {
    paths.push_back(dir / name);
    EXPECT_TRUE(cv::imwrite(paths.back().string(), image)) << name;
  };
  save("landscape.jpg", scene(640, 480));
  save("portrait.png", scene(333, 517));
  save("small_upscaled.png", scene(120, 90));
  cv::Mat grey;
  cv::cvtColor(scene(300, 300), grey, cv::COLOR_BGR2GRAY);
  save("grey.jpg", grey);
  cv::Mat rgba;
  cv::cvtColor(scene(256, 400), rgba, cv::COLOR_BGR2BGRA);
  save("alpha.png", rgba);
  return paths;
}

struct Reference {
  test::ScratchDir dir{"pretrained_parity"};
  json answer;
  std::string error;
};

// The Python answer, computed once for every test of this file.
const Reference& python_reference() {
  static const std::unique_ptr<Reference> reference = [] {
    auto ref = std::make_unique<Reference>();
    const json request = {{"sentences", sentences()},
                          {"images", json::array()},
                          {"backbone_dir", test::backbone_export_dir().string()},
                          {"crops_dir", ref->dir.path().string()}};
    json with_images = request;
    for (const fs::path& p : write_images(ref->dir.path())) with_images["images"].push_back(p);
    test::write_text(ref->dir / "request.json", with_images.dump());
    const auto result = test::run_command(
        test::shell_quote(test::torch_python()) + " " +
        test::shell_quote(std::string(PIXELREC_SOURCE_DIR) + "/tests/pretrained/reference.py") +
        " " + test::shell_quote((ref->dir / "request.json").string()) + " " +
        test::shell_quote((ref->dir / "answer.json").string()));
    if (result.exit_code != 0)
      ref->error = "tests/pretrained/reference.py failed:\n" + result.output;
    else
      ref->answer = json::parse(test::read_text(ref->dir / "answer.json"));
    return ref;
  }();
  return *reference;
}

Config backbone_config() {
  Config config;
  config.model.language_model = "sentence-bert";
  config.model.vision_model = "efficientnet-lite0";
  config.model.backbone_dir = test::backbone_export_dir().string();
  config.features.batch_size = 5;  // several forwards, texts of different lengths per batch
  return config;
}

double cosine(const float* a, const std::vector<double>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    dot += a[i] * b[i];
    na += double(a[i]) * a[i];
    nb += b[i] * b[i];
  }
  return dot / std::sqrt(na * nb);
}

std::vector<const ItemContent*> pointers(const std::vector<ItemContent>& items) {
  std::vector<const ItemContent*> out;
  for (const ItemContent& item : items) out.push_back(&item);
  return out;
}

TEST(PretrainedParity, WordPieceIdsEqualSentenceTransformersTokenizer) {
  PIXELREC_REQUIRE_PRETRAINED_EXPORTS();
  const Reference& ref = python_reference();
  ASSERT_TRUE(ref.error.empty()) << ref.error;
  const BackboneFiles files = locate_backbone("sentence-bert", test::backbone_export_dir());
  const TextSidecar sidecar = read_text_sidecar(files);
  EXPECT_EQ(sidecar.max_length, ref.answer["text"]["max_seq_length"].get<int>());
  WordPieceOptions options;
  options.lowercase = sidecar.lowercase;
  options.strip_accents = sidecar.strip_accents;
  options.max_length = sidecar.max_length;
  const WordPieceTokenizer tokenizer(files.backbone_dir / sidecar.vocab, options);
  for (size_t i = 0; i < sentences().size(); ++i) {
    const TokenizedText tokens = tokenizer.encode(sentences()[i]);
    std::vector<int64_t> ids;
    for (size_t t = 0; t < tokens.ids.size(); ++t)
      if (tokens.mask[t]) ids.push_back(tokens.ids[t]);
    EXPECT_EQ(ids, ref.answer["text"]["ids"][i].get<std::vector<int64_t>>())
        << "sentence " << i << ": " << sentences()[i];
  }
}

TEST(PretrainedParity, MiniLmEmbeddingsEqualSentenceTransformers) {
  PIXELREC_REQUIRE_PRETRAINED_EXPORTS();
  const Reference& ref = python_reference();
  ASSERT_TRUE(ref.error.empty()) << ref.error;
  const auto extractor = make_text_extractor(backbone_config());
  ASSERT_EQ(extractor->dim(), 384);
  std::vector<ItemContent> items;
  for (size_t i = 0; i < sentences().size(); ++i)
    items.push_back({"s" + std::to_string(i), sentences()[i], "", "", ""});
  std::vector<float> out(items.size() * 384);
  std::vector<uint8_t> present(items.size());
  extractor->extract(pointers(items), out.data(), present.data());
  double lowest = 1.0;
  for (size_t i = 0; i < items.size(); ++i) {
    ASSERT_EQ(present[i], 1) << i;
    const auto expected = ref.answer["text"]["embeddings"][i].get<std::vector<double>>();
    ASSERT_EQ(expected.size(), 384u);
    const double c = cosine(out.data() + i * 384, expected);
    lowest = std::min(lowest, c);
    EXPECT_GE(c, kMinCosine) << "sentence " << i << ": " << sentences()[i];
    double norm = 0;
    for (size_t d = 0; d < 384; ++d) norm += double(out[i * 384 + d]) * out[i * 384 + d];
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5) << "L2-normalised, as sentence-transformers does";
  }
  std::cout << "lowest cosine, " << items.size() << " texts: " << std::setprecision(9) << lowest
            << "\n";
}

// Pillow's bilinear resize is reproduced bit for bit: losslessly stored images crop to the same
// bytes; JPEGs differ at most by the decoders' rounding (libjpeg-turbo in OpenCV and in Pillow).
TEST(PretrainedParity, ResizedCropsEqualPillowAndTorchvision) {
  PIXELREC_REQUIRE_PRETRAINED_EXPORTS();
  const Reference& ref = python_reference();
  ASSERT_TRUE(ref.error.empty()) << ref.error;
  const auto& paths = ref.answer["images"]["paths"];
  size_t pngs = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string path = paths[i].get<std::string>();
    const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    ASSERT_FALSE(bgr.empty()) << path;
    cv::Mat rgb;
    cv::cvtColor(resize_and_centre_crop(bgr, 256, 224), rgb, cv::COLOR_BGR2RGB);
    const std::string pillow = test::read_text(ref.dir / ("crop_" + std::to_string(i) + ".rgb"));
    ASSERT_EQ(pillow.size(), rgb.total() * 3) << path;
    int max_diff = 0;
    for (size_t b = 0; b < pillow.size(); ++b)
      max_diff = std::max(max_diff, std::abs(int(uint8_t(pillow[b])) - int(rgb.data[b])));
    std::cout << fs::path(path).filename().string() << ": largest channel difference " << max_diff
              << "\n";
    if (path.size() > 4 && path.substr(path.size() - 4) == ".png") {
      ++pngs;
      EXPECT_EQ(max_diff, 0) << path;
    } else {
      EXPECT_LE(max_diff, 8) << path;
    }
  }
  EXPECT_EQ(pngs, 3u);
}

TEST(PretrainedParity, EfficientNetFeaturesEqualTorchvisionPipeline) {
  PIXELREC_REQUIRE_PRETRAINED_EXPORTS();
  const Reference& ref = python_reference();
  ASSERT_TRUE(ref.error.empty()) << ref.error;
  const auto extractor = make_image_extractor(backbone_config());
  ASSERT_EQ(extractor->dim(), 1280);
  std::vector<ItemContent> items;
  for (const auto& path : ref.answer["images"]["paths"])
    items.push_back({"i" + std::to_string(items.size()), "", "", "", path.get<std::string>()});
  ASSERT_GE(items.size(), 5u);  // the test's JPEGs and PNGs, plus scikit-learn's photos
  std::vector<float> out(items.size() * 1280);
  std::vector<uint8_t> present(items.size());
  const ExtractBatchStats stats = extractor->extract(pointers(items), out.data(), present.data());
  EXPECT_EQ(stats.unusable_inputs, 0u);
  double lowest = 1.0;
  for (size_t i = 0; i < items.size(); ++i) {
    ASSERT_EQ(present[i], 1) << items[i].image_path;
    const auto expected = ref.answer["images"]["features"][i].get<std::vector<double>>();
    const double c = cosine(out.data() + i * 1280, expected);
    lowest = std::min(lowest, c);
    EXPECT_GE(c, kMinCosine) << items[i].image_path;
  }
  std::cout << "lowest cosine, " << items.size() << " images: " << std::setprecision(9) << lowest
            << "\n";
}

}  // namespace
}  // namespace pixelrec::features
