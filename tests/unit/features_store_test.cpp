// The HDF5 feature store: what is written reads back exactly (float32) or to half precision
// (float16); shards read only their rows; an unfinished writer leaves nothing behind.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <tuple>

#include "core/errors.h"
#include "features/feature_store.h"
#include "support/test_support.h"

namespace pixelrec::features {
namespace {

StoreHeader make_header(uint32_t n, const std::string& dtype) {
  StoreHeader h;
  h.fingerprint = "0123456789abcdef";
  h.dtype = dtype;
  h.chunk_items = 4;
  for (uint32_t i = 0; i < n; ++i) {
    h.item_ids.push_back("item" + std::to_string(i));
    h.tag_ids.push_back(i % 3 == 0 ? -1 : static_cast<int32_t>(i % 2));
    h.train_interactions.push_back(i * 10);
  }
  h.tag_vocab = {"cats", "dogs"};
  h.modalities = {{"image", 3, R"({"name":"test-image"})"}, {"numeric", 2, "{}"}};
  return h;
}

void write_store(const std::filesystem::path& path, uint32_t n, const std::string& dtype) {
  FeatureStoreWriter writer(path, make_header(n, dtype));
  std::vector<float> image(n * 3), numeric(n * 2);
  std::vector<uint8_t> present(n, 1);
  for (uint32_t i = 0; i < n * 3; ++i) image[i] = 0.1f * static_cast<float>(i);
  for (uint32_t i = 0; i < n * 2; ++i) numeric[i] = -1.0f * static_cast<float>(i);
  present[2] = 0;
  // Rows arrive in two pieces, as parts do.
  writer.write_rows("image", 0, 5, image.data(), present.data());
  writer.write_rows("image", 5, n - 5, image.data() + 15, present.data() + 5);
  writer.write_rows("numeric", 0, n, numeric.data(), present.data());
  writer.commit();
}

TEST(FeatureStore, RoundTripsEveryDatasetAndAttribute) {
  test::ScratchDir dir("store_roundtrip");
  const auto path = dir / "features.h5";
  write_store(path, 10, "float32");
  const auto info = read_store_info(path);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->fingerprint, "0123456789abcdef");
  EXPECT_EQ(info->num_items, 10u);
  EXPECT_EQ(info->dtype, "float32");
  ASSERT_EQ(info->modalities.size(), 2u);
  EXPECT_EQ(info->train_interactions[7], 70);
  const FeatureShard all = load_feature_range(path, {0, 10});
  EXPECT_EQ(all.item_ids[9], "item9");
  EXPECT_EQ(all.tag_ids[0], -1);
  EXPECT_EQ(all.tag_ids[1], 1);
  EXPECT_EQ(all.tag_vocab, (std::vector<std::string>{"cats", "dogs"}));
  const auto* image = all.modality("image");
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(image->spec.dim, 3);
  EXPECT_NE(image->spec.extractor_json.find("test-image"), std::string::npos);
  for (uint32_t i = 0; i < 30; ++i) EXPECT_FLOAT_EQ(image->values[i], 0.1f * static_cast<float>(i));
  EXPECT_EQ(image->present[2], 0);
  EXPECT_EQ(image->present[3], 1);
  EXPECT_FLOAT_EQ(all.modality("numeric")->values[19], -19.0f);
}

TEST(FeatureStore, ShardsReadOnlyTheirRows) {
  test::ScratchDir dir("store_shards");
  const auto path = dir / "features.h5";
  write_store(path, 10, "float32");
  const FeatureShard s = load_feature_range(path, {4, 7});
  EXPECT_EQ(s.item_ids, (std::vector<std::string>{"item4", "item5", "item6"}));
  EXPECT_EQ(s.train_interactions, (std::vector<int64_t>{40, 50, 60}));
  EXPECT_EQ(s.modality("image")->values.size(), 9u);
  EXPECT_FLOAT_EQ(s.modality("image")->values[0], 1.2f);
  size_t rows = 0;
  for (int r = 0; r < 3; ++r) rows += load_feature_shard(path, r, 3).item_ids.size();
  EXPECT_EQ(rows, 10u);
}

TEST(FeatureStore, Float16KeepsHalfPrecision) {
  test::ScratchDir dir("store_half");
  const auto path = dir / "features.h5";
  write_store(path, 10, "float16");
  const FeatureShard s = load_feature_range(path, {0, 10});
  EXPECT_EQ(read_store_info(path)->dtype, "float16");
  for (uint32_t i = 0; i < 30; ++i) {
    const float expected = 0.1f * static_cast<float>(i);
    EXPECT_NEAR(s.modality("image")->values[i], expected, std::fabs(expected) * 1e-3 + 1e-4);
  }
  EXPECT_LT(std::filesystem::file_size(path), 1u << 20);
}

TEST(FeatureStore, UncommittedWriterLeavesNothing) {
  test::ScratchDir dir("store_abort");
  const auto path = dir / "features.h5";
  { FeatureStoreWriter writer(path, make_header(4, "float32")); }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  EXPECT_FALSE(read_store_info(path).has_value());
}

// Overwrites an int64 attribute of the store's root (or of features/<name>).
void set_int_attribute(const std::filesystem::path& path, const std::string& object,
                       const char* name, int64_t value) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hid_t target = object.empty() ? f : H5Dopen2(f, object.c_str(), H5P_DEFAULT);
  const hid_t attribute = H5Aopen(target, name, H5P_DEFAULT);
  ASSERT_GE(attribute, 0);
  ASSERT_GE(H5Awrite(attribute, H5T_NATIVE_INT64, &value), 0);
  H5Aclose(attribute);
  if (target != f) H5Dclose(target);
  H5Fclose(f);
}

// Damaged or hostile size attributes are errors that name them, never values wrapped by a cast
// (num_items -1 read as 4294967295 items, a dim of 2^40 as 0).
TEST(FeatureStore, SizeAttributesOutOfRangeAreClearErrors) {
  test::ScratchDir dir("store_attributes");
  const auto path = dir / "features.h5";
  const std::vector<std::tuple<std::string, const char*, int64_t>> cases = {
      {"", "num_items", -1},
      {"", "num_items", int64_t(1) << 40},
      {"", "chunk_items", 0},
      {"features/image", "dim", int64_t(1) << 40},
      {"features/image", "dim", -3}};
  for (const auto& [object, name, value] : cases) {
    write_store(path, 10, "float32");
    set_int_attribute(path, object, name, value);
    try {
      read_store_info(path);
      FAIL() << name << " = " << value << " accepted";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::string("attribute '") + name + "' = " + std::to_string(value)),
                std::string::npos)
          << what;
      EXPECT_NE(what.find("re-run `pixelrec cache`"), std::string::npos) << what;
    }
  }
}

TEST(FeatureStore, NonStoreFilesAreClearErrors) {
  test::ScratchDir dir("store_bad");
  test::write_text(dir / "x.h5", "not hdf5");
  try {
    read_store_info(dir / "x.h5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not an HDF5 file"), std::string::npos);
  }
}

}  // namespace
}  // namespace pixelrec::features
