// Content vectors from the feature store: per-modality L2 normalisation, concatenation scaled to
// unit length, zero rows for items without content, numeric features left out, clear errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "eval/content_vectors.h"
#include "features/feature_store.h"
#include "support/test_support.h"

namespace pixelrec::eval {
namespace {

using features::FeatureStoreWriter;
using features::StoreHeader;

StoreHeader header(uint32_t n, std::vector<features::ModalitySpec> modalities) {
  StoreHeader h;
  h.fingerprint = "feedfacefeedface";
  h.chunk_items = 4;
  for (uint32_t i = 0; i < n; ++i) {
    h.item_ids.push_back(std::to_string(i));
    h.tag_ids.push_back(-1);
    h.train_interactions.push_back(0);
  }
  h.modalities = std::move(modalities);
  return h;
}

// Five items: 0 image+text, 1 image only, 2 text only, 3 neither, 4 flagged present but zero.
void write_store(const std::filesystem::path& path) {
  FeatureStoreWriter writer(
      path, header(5, {{"image", 2, "{}"}, {"text", 3, "{}"}, {"numeric", 1, "{}"}}));
  const std::vector<float> image = {3, 4, 0, 5, 7, 7, 9, 9, 1, 1};  // 2, 3: flagged absent
  const std::vector<uint8_t> image_present = {1, 1, 0, 0, 1};
  const std::vector<float> text = {0, 0, 2, 9, 9, 9, 1, 2, 2, 0, 0, 0, 0, 0, 0};
  const std::vector<uint8_t> text_present = {1, 0, 1, 0, 1};
  const std::vector<float> numeric = {100, 200, 300, 400, 500};
  const std::vector<uint8_t> all(5, 1);
  writer.write_rows("image", 0, 5, image.data(), image_present.data());
  writer.write_rows("text", 0, 5, text.data(), text_present.data());
  writer.write_rows("numeric", 0, 5, numeric.data(), all.data());
  writer.commit();
}

void expect_row(const ContentVectors& c, uint32_t item, const std::vector<double>& expected) {
  ASSERT_EQ(size_t(c.dim), expected.size());
  for (int d = 0; d < c.dim; ++d)
    EXPECT_NEAR(c.row(item)[d], expected[d], 1e-6) << item << ":" << d;
}

TEST(ContentVectors, NormalisesEachModalityAndScalesRowsToUnitLength) {
  test::ScratchDir dir("content_vectors");
  write_store(dir / "features.h5");
  const ContentVectors c = load_content_vectors(dir / "features.h5", 1);
  EXPECT_EQ(c.num_items, 5u);
  EXPECT_EQ(c.dim, 5);  // image 2 + text 3; numeric is not content
  const double h = 1.0 / std::sqrt(2.0);
  expect_row(c, 0, {0.6 * h, 0.8 * h, 0, 0, 1 * h});
  expect_row(c, 1, {0, 1, 0, 0, 0});
  expect_row(c, 2, {0, 0, 1.0 / 3, 2.0 / 3, 2.0 / 3});
  expect_row(c, 3, {0, 0, 0, 0, 0});
  expect_row(c, 4, {h, h, 0, 0, 0});  // the zero text row counts as missing
  EXPECT_EQ(c.present, (std::vector<uint8_t>{1, 1, 1, 0, 1}));
  EXPECT_NEAR(c.cosine(0, 0), 1.0, 1e-6);
  EXPECT_NEAR(c.cosine(0, 1), 0.8 * h, 1e-6);
  EXPECT_NEAR(c.cosine(0, 2), (2.0 / 3) * h, 1e-6);
  EXPECT_EQ(c.cosine(0, 3), 0.0f);
}

TEST(ContentVectors, ThreadCountDoesNotChangeValues) {
  test::ScratchDir dir("content_vectors_threads");
  const uint32_t n = 1000;  // several parallel tasks
  FeatureStoreWriter writer(dir / "features.h5", header(n, {{"text", 4, "{}"}}));
  std::vector<float> text(n * 4);
  std::vector<uint8_t> present(n, 1);
  for (uint32_t i = 0; i < n * 4; ++i) text[i] = float((i * 37) % 11) - 5.0f;
  writer.write_rows("text", 0, n, text.data(), present.data());
  writer.commit();
  const ContentVectors one = load_content_vectors(dir / "features.h5", 1);
  const ContentVectors three = load_content_vectors(dir / "features.h5", 3);
  EXPECT_EQ(one.values, three.values);
  EXPECT_EQ(one.present, three.present);
  for (uint32_t i = 0; i < n; i += 97)
    if (one.has(i)) {
      EXPECT_NEAR(one.cosine(i, i), 1.0, 1e-6);
    }
}

TEST(ContentVectors, MissingStoreNamesTheCommandThatCreatesIt) {
  test::ScratchDir dir("content_vectors_missing");
  try {
    load_content_vectors(dir / "nope.h5", 1);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("nope.h5"), std::string::npos) << m;
    EXPECT_NE(m.find("pixelrec cache"), std::string::npos) << m;
  }
}

TEST(ContentVectors, StoreWithoutImageOrTextIsAnError) {
  test::ScratchDir dir("content_vectors_numeric_only");
  FeatureStoreWriter writer(dir / "features.h5", header(2, {{"numeric", 1, "{}"}}));
  const std::vector<float> numeric = {1, 2};
  const std::vector<uint8_t> present = {1, 1};
  writer.write_rows("numeric", 0, 2, numeric.data(), present.data());
  writer.commit();
  try {
    load_content_vectors(dir / "features.h5", 1);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("neither image nor text"), std::string::npos) << m;
    EXPECT_NE(m.find("--force-recompute"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace pixelrec::eval
