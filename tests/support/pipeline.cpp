#include "support/pipeline.h"
#include "support/synth_pipeline.h"

#include <gtest/gtest.h>

namespace pixelrec::test {

Pipeline make_tiny_pipeline(const fs::path& root, const std::string& extra_yaml, int seed) {
  return make_tiny_pipeline_with(root, extra_yaml, seed, "");
}

Pipeline make_tiny_pipeline_with(const fs::path& root, const std::string& extra_yaml, int seed,
                                 const std::string& synth_args) {
  Pipeline p;
  p.root = root;
  p.config = root / "config.yaml";
  const std::string r = root.string();
  write_text(p.config, "data:\n"
                       "  item_info_path: " + r + "/raw/item_info.csv\n"
                       "  interactions_path: " + r + "/raw/interactions.csv\n"
                       "  image_folder: " + r + "/raw/images\n"
                       "  processed_item_info_path: " + r + "/processed/item_info.csv\n"
                       "  processed_interactions_path: " + r + "/processed/interactions.csv\n"
                       "  processed_image_destination_folder: " + r + "/processed/images\n"
                       "  scaler_path: " + r + "/processed/numerical_scaler.json\n"
                       "  split_data_path: " + r + "/splits/loo\n"
                       "  cache_config:\n"
                       "    cache_directory: " + r + "/cache\n"
                       "checkpoint_dir: " + r + "/checkpoints\n"
                       "results_dir: " + r + "/results\n" + extra_yaml);
  const auto synth = run_pixelrec("synth --preset tiny --seed " + std::to_string(seed) + " --out " +
                                  shell_quote(r + "/raw") + " --log-level warn " + synth_args);
  EXPECT_EQ(synth.exit_code, 0) << synth.output;
  const auto pre = run_pixelrec("preprocess " + p.config_arg() + " --log-level warn");
  EXPECT_EQ(pre.exit_code, 0) << pre.output;
  const auto split = run_pixelrec("split " + p.config_arg() + " --log-level warn");
  EXPECT_EQ(split.exit_code, 0) << split.output;
  return p;
}

Pipeline make_cached_tiny_pipeline(const fs::path& root, const std::string& extra_yaml) {
  Pipeline p = make_tiny_pipeline(root, extra_yaml);
  const auto cache = run_pixelrec("cache " + p.config_arg() + " --log-level warn");
  EXPECT_EQ(cache.exit_code, 0) << cache.output;
  return p;
}

}  // namespace pixelrec::test
