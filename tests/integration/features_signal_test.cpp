// The built-in extractors carry the structure `pixelrec synth` plants: on the tiny preset, an
// item's nearest neighbour (cosine) by built-in image or text features shares its topic
// (ground_truth/items.csv) far more often than chance (the sum of squared topic shares).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/csv.h"
#include "features/image_builtin.h"
#include "features/text_builtin.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

using features::FeatureExtractor;
using features::ItemContent;

struct SynthItems {
  std::vector<ItemContent> items;  // raw item_info.csv rows with their image files
  std::vector<int> topics;
};

class FeaturesSignal : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>("features_signal");
    const CommandResult synth =
        run_pixelrec("synth --preset tiny --out " + shell_quote((dir_->path() / "raw").string()));
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    data_ = load(dir_->path() / "raw");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static SynthItems load(const fs::path& raw) {
    const CsvTable info = read_csv_table(raw / "item_info.csv");
    const CsvTable truth = read_csv_table(raw / "ground_truth" / "items.csv");
    std::map<std::string, int> topic_of;
    for (size_t r = 0; r < truth.rows(); ++r)
      topic_of[truth.columns[truth.require_column("item_id", "truth")][r]] =
          std::stoi(truth.columns[truth.require_column("topic", "truth")][r]);
    const auto column = [&](const char* name) -> const std::vector<std::string>& {
      return info.columns[info.require_column(name, "item_info.csv")];
    };
    SynthItems out;
    for (size_t r = 0; r < info.rows(); ++r) {
      const std::string& id = column("item_id")[r];
      fs::path image = raw / "images" / (id + ".jpg");
      if (!fs::exists(image)) image = raw / "images" / (id + ".png");
      out.items.push_back(
          {id, column("title")[r], column("description")[r], column("tag")[r], image.string()});
      out.topics.push_back(topic_of.at(id));
    }
    return out;
  }

  struct Features {
    std::vector<float> rows;
    std::vector<uint8_t> present;
    size_t dim = 0;
  };

  static Features extract_all(FeatureExtractor& extractor) {
    std::vector<const ItemContent*> batch;
    for (const auto& item : data_.items) batch.push_back(&item);
    Features f;
    f.dim = static_cast<size_t>(extractor.dim());
    f.rows.resize(batch.size() * f.dim);
    f.present.resize(batch.size());
    const auto stats = extractor.extract(batch, f.rows.data(), f.present.data());
    EXPECT_EQ(stats.unusable_inputs, 0u);
    return f;
  }

  // The fraction of items whose most similar other item (dot product of dimensions [begin, end);
  // the cosine for whole rows, which are L2-normalised) has the same topic.
  static double nearest_neighbour_agreement(const Features& f, size_t begin, size_t end) {
    const size_t n = data_.items.size();
    size_t agree = 0, counted = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!f.present[i]) continue;
      double best = -2;
      size_t best_j = i;
      for (size_t j = 0; j < n; ++j) {
        if (j == i || !f.present[j]) continue;
        const float* a = f.rows.data() + i * f.dim;
        const float* b = f.rows.data() + j * f.dim;
        double dot = 0;
        for (size_t d = begin; d < end; ++d) dot += double{a[d]} * b[d];
        if (dot > best) {
          best = dot;
          best_j = j;
        }
      }
      ++counted;
      agree += data_.topics[best_j] == data_.topics[i];
    }
    EXPECT_EQ(counted, n) << "every synthetic item has an image and text";
    return static_cast<double>(agree) / static_cast<double>(counted);
  }

  static double chance() {
    std::map<int, double> share;
    for (int t : data_.topics) share[t] += 1.0 / static_cast<double>(data_.topics.size());
    double sum = 0;
    for (const auto& [topic, s] : share) sum += s * s;
    return sum;
  }

  static std::unique_ptr<ScratchDir> dir_;
  static SynthItems data_;
};

std::unique_ptr<ScratchDir> FeaturesSignal::dir_;
SynthItems FeaturesSignal::data_;

TEST_F(FeaturesSignal, TinyPresetHasSixTopicsOfRoughlyEqualShare) {
  EXPECT_EQ(data_.items.size(), 400u);
  EXPECT_NEAR(chance(), 1.0 / 6.0, 0.03);
}

// Measured on this data: 1.00 for whole rows, 0.95 for the gradient block alone.
TEST_F(FeaturesSignal, BuiltinImageNearestNeighbourSharesTheTopic) {
  using L = features::BuiltinImageLayout;
  const Features f = extract_all(*features::make_builtin_image_extractor(FeaturesConfig{}));
  EXPECT_GE(nearest_neighbour_agreement(f, 0, f.dim), 0.9) << "chance is " << chance();
  // Shape and texture alone (synth draws them per topic), without any colour information.
  EXPECT_GE(nearest_neighbour_agreement(f, L::kGradientOffset, L::kLayoutOffset), 0.75);
}

// Measured on this data: 0.945.
TEST_F(FeaturesSignal, BuiltinTextNearestNeighbourSharesTheTopic) {
  auto extractor = features::make_builtin_text_extractor(FeaturesConfig{});
  extractor->fit(data_.items);
  const Features f = extract_all(*extractor);
  EXPECT_GE(nearest_neighbour_agreement(f, 0, f.dim), 0.8) << "chance is " << chance();
}

}  // namespace
}  // namespace pixelrec::test
