// The built-in text extractor: word splitting, hashed TF-IDF with IDF fitted on training items,
// the sparse random projection, determinism, and what describe() records about the fit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "core/errors.h"
#include "features/text_builtin.h"

namespace pixelrec::features {
namespace {

ItemContent text_item(std::string title, std::string tag = "", std::string description = "") {
  return {"id", std::move(title), std::move(description), std::move(tag), ""};
}

struct Rows {
  std::vector<float> values;
  std::vector<uint8_t> present;
  int dim = 0;
  std::vector<float> row(size_t i) const {
    return {values.begin() + static_cast<std::ptrdiff_t>(i * dim),
            values.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim)};
  }
};

Rows extract(FeatureExtractor& extractor, const std::vector<ItemContent>& items) {
  std::vector<const ItemContent*> batch;
  for (const auto& item : items) batch.push_back(&item);
  Rows rows;
  rows.dim = extractor.dim();
  rows.values.assign(items.size() * static_cast<size_t>(rows.dim), -1.0f);
  rows.present.assign(items.size(), 7);
  const ExtractBatchStats stats = extractor.extract(batch, rows.values.data(), rows.present.data());
  EXPECT_EQ(stats.unusable_inputs, 0u);
  return rows;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

// 40 training titles that all share "the best video" plus one filler word each.
std::vector<ItemContent> corpus() {
  std::vector<ItemContent> items;
  for (int i = 0; i < 40; ++i)
    items.push_back(text_item("the best video filler" + std::to_string(i)));
  return items;
}

std::unique_ptr<FeatureExtractor> fitted(const std::vector<ItemContent>& training,
                                         FeaturesConfig config = {}) {
  auto extractor = make_builtin_text_extractor(config);
  extractor->fit(training);
  return extractor;
}

TEST(BuiltinTextWords, SplitOnAsciiNonAlphanumericsAndKeepMultibyteSequences) {
  EXPECT_EQ(builtin_text_words("Hello, wörld—x2 foo_bar  42"),
            (std::vector<std::string>{"hello", "wörld—x2", "foo", "bar", "42"}));
  EXPECT_EQ(builtin_text_words("中文 标题!"), (std::vector<std::string>{"中文", "标题"}));
  EXPECT_TRUE(builtin_text_words(" ,.;! ").empty());
}

TEST(BuiltinText, HasTheConfiguredDimensionAndUnitNorm) {
  FeaturesConfig config;
  config.text_dim = 64;
  auto extractor = fitted(corpus(), config);
  EXPECT_EQ(extractor->modality(), "text");
  EXPECT_EQ(extractor->dim(), 64);
  const Rows rows = extract(*extractor, {text_item("best video", "games", "a long description")});
  EXPECT_EQ(rows.present[0], 1);
  EXPECT_NEAR(dot(rows.row(0), rows.row(0)), 1.0, 1e-6);
}

TEST(BuiltinText, AOneWordTextIsItsBucketsProjectionColumn) {
  auto extractor = fitted({});
  const std::vector<float> row = extract(*extractor, {text_item("zebra")}).row(0);
  int nonzero = 0;
  for (float v : row) {
    if (v == 0.0f) continue;
    ++nonzero;
    EXPECT_FLOAT_EQ(std::fabs(v), 0.5f);
  }
  EXPECT_EQ(nonzero, 4);  // four (dimension, ±1) pairs, normalised
}

TEST(BuiltinText, IsDeterministicAcrossExtractorsAndBatches) {
  const ItemContent item = text_item("Best video", "games", "the best video of today");
  const Rows a = extract(*fitted(corpus()), {item});
  const Rows b = extract(*fitted(corpus()), {text_item("other"), item});
  EXPECT_EQ(a.row(0), b.row(1));
}

TEST(BuiltinText, SharedRareWordsCountMoreThanSharedCommonWords) {
  auto extractor = fitted(corpus());
  const Rows rows = extract(*extractor, {text_item("the best video zorblat quix"),
                                         text_item("zorblat quix tutorial"),
                                         text_item("the best video tutorial")});
  const double rare = dot(rows.row(0), rows.row(1));
  const double common = dot(rows.row(0), rows.row(2));
  EXPECT_GT(rare, 0.5);
  EXPECT_LT(common, 0.3);
}

TEST(BuiltinText, BigramsDoNotSpanFields) {
  auto extractor = fitted(corpus());
  const Rows rows = extract(*extractor, {text_item("zorblat quix"), text_item("zorblat", "quix"),
                                         text_item("zorblat", "", "quix")});
  EXPECT_LT(dot(rows.row(0), rows.row(1)), 0.99);
  EXPECT_EQ(rows.row(1), rows.row(2));  // same words, no bigram either way
}

TEST(BuiltinText, EmptyTextIsMaskedWithAZeroRow) {
  auto extractor = fitted(corpus());
  const Rows rows = extract(*extractor, {text_item(""), text_item(" -- ", "", "!?"),
                                         text_item("video")});
  EXPECT_EQ(rows.present, (std::vector<uint8_t>{0, 0, 1}));
  EXPECT_EQ(dot(rows.row(0), rows.row(0)), 0.0);
  EXPECT_EQ(dot(rows.row(1), rows.row(1)), 0.0);
}

TEST(BuiltinText, ExtractBeforeFitIsAnInternalError) {
  auto extractor = make_builtin_text_extractor(FeaturesConfig{});
  const ItemContent item = text_item("video");
  const std::vector<const ItemContent*> batch = {&item};
  std::vector<float> out(static_cast<size_t>(extractor->dim()));
  uint8_t present = 0;
  EXPECT_THROW(extractor->extract(batch, out.data(), &present), InternalError);
}

TEST(BuiltinText, DescribeRecordsEveryParameterAndTheFittedIdf) {
  FeaturesConfig config;
  config.text_dim = 32;
  config.text_hash_bits = 12;
  const auto before = nlohmann::json::parse(make_builtin_text_extractor(config)->describe());
  EXPECT_EQ(before.at("name"), "builtin-text");
  EXPECT_EQ(before.at("dim"), 32);
  EXPECT_EQ(before.at("hash_bits"), 12);
  EXPECT_EQ(before.at("projection").at("nonzeros_per_bucket"), 4);
  EXPECT_TRUE(before.at("fit").is_null());

  const auto a = nlohmann::json::parse(fitted(corpus(), config)->describe());
  EXPECT_EQ(a.at("fit").at("documents"), 40);
  EXPECT_EQ(a.at("fit").at("idf_hash").get<std::string>().size(), 16u);
  EXPECT_EQ(a, nlohmann::json::parse(fitted(corpus(), config)->describe()));
  auto changed = corpus();
  changed[3].title = "the best video of another day";
  EXPECT_NE(a.at("fit").at("idf_hash"),
            nlohmann::json::parse(fitted(changed, config)->describe()).at("fit").at("idf_hash"));
}

}  // namespace
}  // namespace pixelrec::features
