// `pixelrec cache` end to end on generated data: builds the store, reuses it when nothing changed,
// recomputes when any fingerprinted input changes, resumes after kill -9 with identical datasets,
// gives one identical store under mpirun -np 2, and masks a corrupt image instead of crashing.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "features/feature_store.h"
#include "support/pipeline.h"

namespace pixelrec::test {
namespace {

class CacheCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("cache_cli");
    pipeline_ = new Pipeline(make_tiny_pipeline(dir_->path(), "features:\n  chunk_items: 64\n"));
  }
  static void TearDownTestSuite() {
    delete pipeline_;
    delete dir_;
  }
  static CommandResult cache(const std::string& store, const std::string& extra = "") {
    return run_pixelrec("cache " + pipeline_->config_arg() + " --set data.feature_store_path=" +
                        shell_quote((dir_->path() / store).string()) + " " + extra);
  }
  static fs::path path(const std::string& name) { return dir_->path() / name; }

  static ScratchDir* dir_;
  static Pipeline* pipeline_;
};
ScratchDir* CacheCli::dir_ = nullptr;
Pipeline* CacheCli::pipeline_ = nullptr;

size_t count_lines(const fs::path& p) {
  const std::string s = read_text(p);
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

void expect_same_store(const fs::path& a, const fs::path& b) {
  const auto info_a = features::read_store_info(a);
  const auto info_b = features::read_store_info(b);
  ASSERT_TRUE(info_a && info_b);
  EXPECT_EQ(info_a->fingerprint, info_b->fingerprint);
  const auto sa = features::load_feature_range(a, {0, info_a->num_items});
  const auto sb = features::load_feature_range(b, {0, info_b->num_items});
  EXPECT_EQ(sa.item_ids, sb.item_ids);
  EXPECT_EQ(sa.tag_ids, sb.tag_ids);
  ASSERT_EQ(sa.modalities.size(), sb.modalities.size());
  for (size_t m = 0; m < sa.modalities.size(); ++m) {
    EXPECT_EQ(sa.modalities[m].spec.name, sb.modalities[m].spec.name);
    EXPECT_EQ(sa.modalities[m].values, sb.modalities[m].values) << sa.modalities[m].spec.name;
    EXPECT_EQ(sa.modalities[m].present, sb.modalities[m].present);
  }
}

TEST_F(CacheCli, BuildsTheStoreThenReusesIt) {
  auto first = cache("reuse.h5");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto info = features::read_store_info(path("reuse.h5"));
  ASSERT_TRUE(info.has_value());
  const size_t items = count_lines(pipeline_->root / "splits/loo/item_map.csv") - 1;
  EXPECT_EQ(info->num_items, items);
  std::map<std::string, int> dims;
  for (const auto& m : info->modalities) dims[m.name] = m.dim;
  EXPECT_EQ(dims.size(), 3u);
  EXPECT_EQ(dims["text"], 256);
  EXPECT_EQ(dims["numeric"], 7);
  const auto shard = features::load_feature_range(path("reuse.h5"), {0, info->num_items});
  size_t with_image = 0;
  for (uint8_t p : shard.modality("image")->present) with_image += p;
  EXPECT_EQ(with_image, items);  // clean data: every item has an image
  const auto mtime = fs::last_write_time(path("reuse.h5"));
  auto second = cache("reuse.h5");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("is up to date"), std::string::npos) << second.output;
  EXPECT_EQ(fs::last_write_time(path("reuse.h5")), mtime);
}

TEST_F(CacheCli, AnyFingerprintedChangeRecomputes) {
  ASSERT_EQ(cache("change.h5").exit_code, 0);
  const std::string fp0 = features::read_store_info(path("change.h5"))->fingerprint;
  auto changed_config = cache("change.h5", "--set data.numerical_normalization_method=min_max");
  ASSERT_EQ(changed_config.exit_code, 0) << changed_config.output;
  const std::string fp1 = features::read_store_info(path("change.h5"))->fingerprint;
  EXPECT_NE(fp0, fp1);
  auto dims = cache("change.h5",
                    "--set data.numerical_normalization_method=min_max --set features.text_dim=64");
  ASSERT_EQ(dims.exit_code, 0) << dims.output;
  EXPECT_EQ(features::load_feature_range(path("change.h5"), {0, 1}).modality("text")->spec.dim, 64);
  EXPECT_EQ(cache("change.h5",
                  "--force-recompute --set data.numerical_normalization_method=min_max --set "
                  "features.text_dim=64")
                .exit_code,
            0);
}

TEST_F(CacheCli, ResumesAfterKillNineWithIdenticalDatasets) {
  ASSERT_EQ(cache("straight.h5").exit_code, 0);
  auto killed =
      run_command("PIXELREC_TEST_KILL_AFTER_PARTS=2 " + shell_quote(PIXELREC_BIN) + " cache " +
                  pipeline_->config_arg() +
                  " --set data.feature_store_path=" + shell_quote(path("resumed.h5").string()));
  EXPECT_EQ(killed.exit_code, 137) << killed.output;
  EXPECT_FALSE(fs::exists(path("resumed.h5")));
  EXPECT_TRUE(fs::exists(path("resumed.h5.parts/chunk_000001.part")));
  auto resumed = cache("resumed.h5");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("(2 resumed)"), std::string::npos) << resumed.output;
  EXPECT_FALSE(fs::exists(path("resumed.h5.parts")));
  expect_same_store(path("straight.h5"), path("resumed.h5"));
}

TEST_F(CacheCli, TwoMpiRanksBuildTheSameStore) {
  ASSERT_EQ(cache("single.h5").exit_code, 0);
  auto mpi = run_command("mpirun --allow-run-as-root --oversubscribe -np 2 " +
                         shell_quote(PIXELREC_BIN) + " cache " + pipeline_->config_arg() +
                         " --set data.feature_store_path=" + shell_quote(path("mpi.h5").string()));
  ASSERT_EQ(mpi.exit_code, 0) << mpi.output;
  EXPECT_NE(mpi.output.find("on 2 rank(s)"), std::string::npos) << mpi.output;
  expect_same_store(path("single.h5"), path("mpi.h5"));
}

TEST_F(CacheCli, CorruptImageGetsPresenceZeroAndACountedWarning) {
  ScratchDir own("cache_corrupt");
  Pipeline p = make_tiny_pipeline(own.path(), "", 9);
  // The first catalogue item's processed image becomes garbage after preprocessing.
  fs::path victim;
  for (const auto& e : fs::directory_iterator(p.root / "processed/images")) {
    victim = e.path();
    break;
  }
  write_text(victim, "garbage, not an image");
  auto r = run_pixelrec("cache " + p.config_arg());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 input(s) unusable for image features"), std::string::npos) << r.output;
  const auto report = nlohmann::json::parse(read_text(p.root / "cache/cache_report.json"));
  EXPECT_EQ(report["unusable_inputs"]["image"], 1);
  const auto store = features::load_feature_range(
      p.root / "cache/features.h5",
      {0, features::read_store_info(p.root / "cache/features.h5")->num_items});
  const std::string victim_id = victim.stem().string();
  size_t idx = 0;
  while (store.item_ids[idx] != victim_id) ++idx;
  EXPECT_EQ(store.modality("image")->present[idx], 0);
  EXPECT_EQ(store.modality("text")->present[idx], 1);
}

}  // namespace
}  // namespace pixelrec::test
