// TorchScript backbones on tiny modules built here (no weights, no Python): image preprocessing,
// batching, feature-map pooling, WordPiece + masked mean pooling, output shape checks.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/errors.h"
#include "core/hash.h"
#include "features/extractor.h"
#include "support/test_support.h"

namespace pixelrec::features {
namespace {

namespace fs = std::filesystem;
using test::ScratchDir;
using test::write_text;

constexpr double kMean[3] = {0.5, 0.4, 0.3};
constexpr double kStd[3] = {0.2, 0.25, 0.5};
// Linear map of the mean RGB value to D = 2 outputs: weight [2, 3].
const std::vector<float> kWeight = {1.0f, 2.0f, -1.0f, 0.5f, 0.0f, 3.0f};

struct Rgb {
  int r, g, b;
};

// The normalised value of one channel byte, as the sidecar's mean/std define it.
double normalised(int byte, int channel) { return (byte / 255.0 - kMean[channel]) / kStd[channel]; }

// weight · normalised(colour): the expected output of the tiny vision module for a solid colour.
std::array<double, 2> expected_features(const std::array<double, 3>& normalised_rgb) {
  std::array<double, 2> out{};
  for (int d = 0; d < 2; ++d)
    for (int c = 0; c < 3; ++c) out[d] += kWeight[d * 3 + c] * normalised_rgb[c];
  return out;
}

std::array<double, 3> normalised(const Rgb& colour) {
  return {normalised(colour.r, 0), normalised(colour.g, 1), normalised(colour.b, 2)};
}

void write_vision_module(const fs::path& file, const std::string& output) {
  torch::jit::Module module("TinyVision");
  module.register_parameter("weight", torch::tensor(kWeight).reshape({2, 3}), false);
  if (output == "feature_map")  // a 1×1 convolution: [B, 2, H, W]
    module.define(R"(
def forward(self, x):
    return torch.conv2d(x, self.weight.unsqueeze(-1).unsqueeze(-1))
)");
  else
    module.define(R"(
def forward(self, x):
    return torch.matmul(x.mean(dim=[2, 3]), self.weight.t())
)");
  module.save(file.string());
}

void write_vision_sidecar(const fs::path& file, int input_size, int resize,
                          const std::string& output, int dim) {
  const nlohmann::json doc = {{"kind", "vision"},
                              {"input_size", input_size},
                              {"resize", resize},
                              {"mean", {0.5, 0.4, 0.3}},
                              {"std", {0.2, 0.25, 0.5}},
                              {"output", output},
                              {"dim", dim}};
  write_text(file, doc.dump(2));
}

// A solid-colour PNG (OpenCV stores pixels as BGR).
void write_png(const fs::path& file, int width, int height, const Rgb& colour) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(colour.b, colour.g, colour.r));
  ASSERT_TRUE(cv::imwrite(file.string(), image));
}

Config vision_config(const fs::path& backbone_dir, int batch_size) {
  Config config;
  config.model.vision_model = "resnet";
  config.model.backbone_dir = backbone_dir.string();
  config.features.batch_size = batch_size;
  return config;
}

ItemContent item_with_image(const std::string& id, const fs::path& image) {
  ItemContent item;
  item.id = id;
  item.image_path = image.string();
  return item;
}

std::vector<const ItemContent*> pointers(const std::vector<ItemContent>& items) {
  std::vector<const ItemContent*> out;
  for (const ItemContent& item : items) out.push_back(&item);
  return out;
}

TEST(VisionBackbone, SolidImagesGiveTheWeightTimesTheNormalisedColourAcrossBatches) {
  ScratchDir dir("bb_vision");
  write_vision_module(dir / "resnet.pt", "pooled");
  write_vision_sidecar(dir / "resnet.json", 4, 8, "pooled", 2);
  const Rgb red{200, 30, 10}, green{20, 240, 60}, blue{0, 0, 255};
  write_png(dir / "red.png", 16, 16, red);
  write_png(dir / "green.png", 10, 20, green);
  write_png(dir / "blue.png", 9, 7, blue);
  write_text(dir / "corrupt.jpg", "\xFF\xD8\xFF this is not a JPEG");
  std::vector<ItemContent> items = {
      item_with_image("i0", dir / "red.png"), ItemContent{"i1", "no image", "", "", ""},
      item_with_image("i2", dir / "corrupt.jpg"), item_with_image("i3", dir / "green.png"),
      item_with_image("i4", dir / "blue.png")};

  const auto extractor = make_image_extractor(vision_config(dir.path(), 2));
  ASSERT_NE(extractor, nullptr);
  EXPECT_EQ(extractor->modality(), "image");
  EXPECT_EQ(extractor->dim(), 2);
  std::vector<float> out(items.size() * 2, -7.0f);
  std::vector<uint8_t> present(items.size(), 9);
  const ExtractBatchStats stats = extractor->extract(pointers(items), out.data(), present.data());

  EXPECT_EQ(present, (std::vector<uint8_t>{1, 0, 0, 1, 1}));
  EXPECT_EQ(stats.unusable_inputs, 1u);
  EXPECT_EQ(stats.unusable_examples,
            std::vector<std::string>{"item i2: image '" + (dir / "corrupt.jpg").string() +
                                     "' cannot be read or decoded"});
  const std::array<Rgb, 5> colours = {red, Rgb{}, Rgb{}, green, blue};
  for (size_t i : {0u, 3u, 4u}) {
    const auto want = expected_features(normalised(colours[i]));
    EXPECT_NEAR(out[i * 2], want[0], 1e-5) << "item " << i;
    EXPECT_NEAR(out[i * 2 + 1], want[1], 1e-5) << "item " << i;
  }
  for (size_t i : {1u, 2u}) {
    EXPECT_EQ(out[i * 2], 0.0f);
    EXPECT_EQ(out[i * 2 + 1], 0.0f);
  }
}

TEST(VisionBackbone, FeatureMapsAreMeanPooledOverTheCentreCrop) {
  ScratchDir dir("bb_fmap");
  write_vision_module(dir / "resnet.pt", "feature_map");
  // 12×8 image, resize 8 keeps its size, crop 8 drops 2 columns each side: columns 0-1 and 10-11
  // (white) are cut, columns 2-5 (a) and 6-9 (b) remain in equal parts.
  write_vision_sidecar(dir / "resnet.json", 8, 8, "feature_map", 2);
  const Rgb a{255, 0, 51}, b{51, 102, 255};
  cv::Mat image(8, 12, CV_8UC3, cv::Scalar(255, 255, 255));
  image.colRange(2, 6).setTo(cv::Scalar(a.b, a.g, a.r));
  image.colRange(6, 10).setTo(cv::Scalar(b.b, b.g, b.r));
  ASSERT_TRUE(cv::imwrite((dir / "halves.png").string(), image));
  const std::vector<ItemContent> items = {item_with_image("x", dir / "halves.png")};

  const auto extractor = make_image_extractor(vision_config(dir.path(), 4));
  std::vector<float> out(2);
  std::vector<uint8_t> present(1);
  const ExtractBatchStats stats = extractor->extract(pointers(items), out.data(), present.data());

  EXPECT_EQ(stats.unusable_inputs, 0u);
  EXPECT_EQ(present[0], 1);
  const auto na = normalised(a), nb = normalised(b);
  const auto want =
      expected_features({(na[0] + nb[0]) / 2, (na[1] + nb[1]) / 2, (na[2] + nb[2]) / 2});
  EXPECT_NEAR(out[0], want[0], 1e-5);
  EXPECT_NEAR(out[1], want[1], 1e-5);
}

TEST(VisionBackbone, DescribesNameFileContentHashAndSidecarParameters) {
  ScratchDir dir("bb_describe");
  write_vision_module(dir / "resnet.pt", "pooled");
  write_vision_sidecar(dir / "resnet.json", 4, 8, "pooled", 2);
  const auto extractor = make_image_extractor(vision_config(dir.path(), 2));

  const nlohmann::json doc = nlohmann::json::parse(extractor->describe());
  const nlohmann::json want = {{"name", "resnet"},
                               {"kind", "torchscript_vision"},
                               {"file", (dir / "resnet.pt").string()},
                               {"file_hash", Hasher().add_file_contents(dir / "resnet.pt").hex()},
                               {"input_size", 4},
                               {"resize", 8},
                               {"mean", {0.5, 0.4, 0.3}},
                               {"std", {0.2, 0.25, 0.5}},
                               {"output", "pooled"},
                               {"normalize", false},
                               {"dim", 2},
                               {"source", nlohmann::json::object()},
                               {"resampling", "pillow_bilinear"}};
  EXPECT_EQ(doc, want);
}

TEST(VisionBackbone, NormalizeMakesEachPooledVectorUnitLength) {
  ScratchDir dir("bb_vision_normalize");
  write_vision_module(dir / "resnet.pt", "pooled");
  nlohmann::json sidecar = {
      {"kind", "vision"},        {"input_size", 4},    {"resize", 8}, {"mean", {0.5, 0.4, 0.3}},
      {"std", {0.2, 0.25, 0.5}}, {"output", "pooled"}, {"dim", 2},    {"normalize", true}};
  write_text(dir / "resnet.json", sidecar.dump());
  const Rgb red{200, 30, 10};
  write_png(dir / "red.png", 16, 16, red);
  const std::vector<ItemContent> items = {item_with_image("i0", dir / "red.png")};
  std::vector<float> out(2);
  std::vector<uint8_t> present(1);
  make_image_extractor(vision_config(dir.path(), 2))
      ->extract(pointers(items), out.data(), present.data());
  const auto want = expected_features(normalised(red));
  const double norm = std::hypot(want[0], want[1]);
  EXPECT_NEAR(out[0], want[0] / norm, 1e-5);
  EXPECT_NEAR(out[1], want[1] / norm, 1e-5);
}

TEST(VisionBackbone, AnOutputThatDoesNotMatchTheSidecarDimIsAnErrorNamingBoth) {
  ScratchDir dir("bb_wrong_dim");
  write_vision_module(dir / "resnet.pt", "pooled");
  write_vision_sidecar(dir / "resnet.json", 4, 8, "pooled", 5);
  write_png(dir / "red.png", 8, 8, Rgb{255, 0, 0});
  const std::vector<ItemContent> items = {item_with_image("r", dir / "red.png")};
  const auto extractor = make_image_extractor(vision_config(dir.path(), 2));
  std::vector<float> out(5);
  std::vector<uint8_t> present(1);

  try {
    extractor->extract(pointers(items), out.data(), present.data());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string d = dir.path().string();
    EXPECT_EQ(std::string(e.what()),
              "backbone '" + d + "/resnet.pt' returned shape [1, 2], expected [1, 5] (output " +
                  "\"pooled\") (from the sidecar '" + d + "/resnet.json'); fix " +
                  "\"dim\"/\"output\" there or re-create both with " +
                  "`python3 tools/export_backbones.py --model resnet --out " + d + "`");
  }
}

// Vocab ids: 0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], 4 hello, 5 world, 6 ##s, 7 red, 8 cat.
const char* const kVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n##s\nred\ncat\n";

// Embedding row of token id i: every row differs and none is zero, so padding would show.
std::array<double, 3> embedding_row(int i) { return {1.0 + i, 2.0 * i * i, 10.0 - i}; }

void write_text_backbone(const fs::path& dir, int max_length) {
  std::vector<float> table;
  for (int i = 0; i < 9; ++i)
    for (double v : embedding_row(i)) table.push_back(static_cast<float>(v));
  torch::jit::Module module("TinyText");
  module.register_parameter("table", torch::tensor(table).reshape({9, 3}), false);
  module.define(R"(
def forward(self, input_ids, attention_mask):
    return torch.embedding(self.table, input_ids)
)");
  module.save((dir / "bert.pt").string());
  write_text(dir / "vocab.txt", kVocab);
  const nlohmann::json sidecar = {{"kind", "text"},
                                  {"vocab", "vocab.txt"},
                                  {"lowercase", true},
                                  {"strip_accents", true},
                                  {"max_length", max_length},
                                  {"output", "token_embeddings"},
                                  {"dim", 3}};
  write_text(dir / "bert.json", sidecar.dump(2));
}

Config text_config(const fs::path& backbone_dir, int text_max_length) {
  Config config;
  config.model.language_model = "bert";
  config.model.backbone_dir = backbone_dir.string();
  config.features.batch_size = 8;
  config.features.text_max_length = text_max_length;
  return config;
}

std::array<double, 3> mean_of_rows(const std::vector<int>& ids) {
  std::array<double, 3> sum{};
  for (int id : ids)
    for (int h = 0; h < 3; ++h) sum[h] += embedding_row(id)[h];
  for (double& v : sum) v /= static_cast<double>(ids.size());
  return sum;
}

void expect_row(const std::vector<float>& out, size_t row, const std::array<double, 3>& want) {
  for (size_t h = 0; h < 3; ++h) EXPECT_NEAR(out[row * 3 + h], want[h], 1e-5) << "row " << row;
}

TEST(TextBackbone, MaskedMeanPoolsTheTokensOfTitleTagAndDescriptionWithoutPadding) {
  ScratchDir dir("bb_text");
  write_text_backbone(dir.path(), 128);
  const std::vector<ItemContent> items = {{"a", "Hello", "worlds", "", ""},
                                          {"b", "", "", "   ", ""},
                                          {"c", "cat", "", "", ""},
                                          {"d", "", "dog", "red", ""}};
  const auto extractor = make_text_extractor(text_config(dir.path(), 128));
  ASSERT_NE(extractor, nullptr);
  EXPECT_EQ(extractor->modality(), "text");
  EXPECT_EQ(extractor->dim(), 3);
  std::vector<float> out(items.size() * 3, -7.0f);
  std::vector<uint8_t> present(items.size(), 9);
  const ExtractBatchStats stats = extractor->extract(pointers(items), out.data(), present.data());

  EXPECT_EQ(stats.unusable_inputs, 0u);
  EXPECT_EQ(present, (std::vector<uint8_t>{1, 0, 1, 1}));
  expect_row(out, 0, mean_of_rows({2, 4, 5, 6, 3}));  // [CLS] hello world ##s [SEP]
  expect_row(out, 1, {0.0, 0.0, 0.0});
  expect_row(out, 2, mean_of_rows({2, 8, 3}));     // [CLS] cat [SEP], then two [PAD] in the batch
  expect_row(out, 3, mean_of_rows({2, 7, 1, 3}));  // tag before description: red, dog → [UNK]
}

TEST(TextBackbone, FeaturesTextMaxLengthShortensTheSidecarMaxLength) {
  ScratchDir dir("bb_text_len");
  write_text_backbone(dir.path(), 128);
  const std::vector<ItemContent> items = {{"a", "hello worlds cat", "", "", ""}};
  const auto extractor = make_text_extractor(text_config(dir.path(), 4));
  std::vector<float> out(3);
  std::vector<uint8_t> present(1);
  extractor->extract(pointers(items), out.data(), present.data());

  EXPECT_EQ(present[0], 1);
  expect_row(out, 0, mean_of_rows({2, 4, 5, 3}));  // [CLS] hello world [SEP]
  const nlohmann::json doc = nlohmann::json::parse(extractor->describe());
  EXPECT_EQ(doc.at("max_length"), 4);
  EXPECT_EQ(doc.at("vocab"), (dir / "vocab.txt").string());
  EXPECT_EQ(doc.at("vocab_hash"), Hasher().add_file_contents(dir / "vocab.txt").hex());
  EXPECT_EQ(doc.at("file_hash"), Hasher().add_file_contents(dir / "bert.pt").hex());
}

std::array<double, 3> unit(const std::array<double, 3>& v) {
  const double norm = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  return {v[0] / norm, v[1] / norm, v[2] / norm};
}

TEST(TextBackbone, ClsPoolingTakesTheFirstTokenAndNormalizeGivesUnitVectors) {
  ScratchDir dir("bb_text_pooling");
  write_text_backbone(dir.path(), 128);
  nlohmann::json sidecar = nlohmann::json::parse(test::read_text(dir / "bert.json"));
  sidecar["normalize"] = true;
  sidecar["source"] = {{"package", "tiny"}, {"licence", "none"}};
  write_text(dir / "bert.json", sidecar.dump());
  const std::vector<ItemContent> items = {{"a", "hello worlds", "", "", ""}};
  std::vector<float> out(3);
  std::vector<uint8_t> present(1);
  make_text_extractor(text_config(dir.path(), 128))
      ->extract(pointers(items), out.data(), present.data());
  expect_row(out, 0, unit(mean_of_rows({2, 4, 5, 6, 3})));

  sidecar["pooling"] = "cls";
  write_text(dir / "bert.json", sidecar.dump());
  const auto cls = make_text_extractor(text_config(dir.path(), 128));
  cls->extract(pointers(items), out.data(), present.data());
  expect_row(out, 0, unit(embedding_row(2)));  // [CLS]
  const nlohmann::json doc = nlohmann::json::parse(cls->describe());
  EXPECT_EQ(doc.at("pooling"), "cls");
  EXPECT_EQ(doc.at("normalize"), true);
  EXPECT_EQ(doc.at("source").at("package"), "tiny");
}

// Texts are batched shortest first; every vector still lands on its own item's row.
TEST(TextBackbone, BatchingByLengthKeepsEachItemsRow) {
  ScratchDir dir("bb_text_order");
  write_text_backbone(dir.path(), 128);
  const std::vector<ItemContent> items = {{"a", "hello world cat red", "", "", ""},
                                          {"b", "cat", "", "", ""},
                                          {"c", "", "", "", ""},
                                          {"d", "red red red red red hello", "", "", ""},
                                          {"e", "world cat", "", "", ""}};
  Config config = text_config(dir.path(), 128);
  config.features.batch_size = 2;
  std::vector<float> out(items.size() * 3, -7.0f);
  std::vector<uint8_t> present(items.size(), 9);
  make_text_extractor(config)->extract(pointers(items), out.data(), present.data());
  EXPECT_EQ(present, (std::vector<uint8_t>{1, 1, 0, 1, 1}));
  expect_row(out, 0, mean_of_rows({2, 4, 5, 8, 7, 3}));
  expect_row(out, 1, mean_of_rows({2, 8, 3}));
  expect_row(out, 2, {0.0, 0.0, 0.0});
  expect_row(out, 3, mean_of_rows({2, 7, 7, 7, 7, 7, 4, 3}));
  expect_row(out, 4, mean_of_rows({2, 5, 8, 3}));
}

TEST(TextBackbone, ATokenEmbeddingWidthOtherThanTheSidecarDimIsAnError) {
  ScratchDir dir("bb_text_dim");
  write_text_backbone(dir.path(), 16);
  nlohmann::json sidecar = nlohmann::json::parse(test::read_text(dir / "bert.json"));
  sidecar["dim"] = 4;
  write_text(dir / "bert.json", sidecar.dump());
  const std::vector<ItemContent> items = {{"a", "cat", "", "", ""}};
  const auto extractor = make_text_extractor(text_config(dir.path(), 128));
  std::vector<float> out(4);
  std::vector<uint8_t> present(1);

  try {
    extractor->extract(pointers(items), out.data(), present.data());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.substr(0, message.find(" (from")),
              "backbone '" + (dir / "bert.pt").string() +
                  "' returned shape [1, 3, 3], expected [1, 3, 4] (output \"token_embeddings\")");
  }
}

}  // namespace
}  // namespace pixelrec::features
