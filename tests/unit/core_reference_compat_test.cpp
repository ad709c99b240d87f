// The reference framework's spellings: every key and value its code accepts loads with its
// meaning (concatenate = concat, hyperparameter_search.metric = optimize_metric, enable_pruning
// = the pruner, search-space leaf names = config key paths, ...), and its example configs load
// under --strict with warnings only for the documented compat keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "core/config_loader.h"
#include "core/config_schema.h"
#include "core/errors.h"

namespace pixelrec {
namespace {

Config load_strict(const std::string& yaml, std::vector<std::string>* warnings = nullptr) {
  Config config;
  std::vector<std::string> local;
  apply_config_yaml(config, yaml, "test.yaml", /*strict=*/true, warnings ? *warnings : local);
  return config;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

std::string fixture(const std::string& name) {
  return std::string(PIXELREC_SOURCE_DIR) + "/tests/fixtures/" + name;
}

std::vector<std::string> space_names(const Config& c) {
  std::vector<std::string> names;
  for (const auto& kv : c.hyperparameter_search.search_space)
    names.push_back(kv.first.as<std::string>());
  return names;
}

TEST(ReferenceCompat, ConcatenateIsConcat) {
  EXPECT_EQ(load_strict("model:\n  fusion_type: concatenate\n").model.fusion_type, "concat");
  Config c;
  std::vector<std::string> warnings;
  apply_config_override(c, "model.fusion_type=gated", true, warnings);
  apply_config_override(c, "model.fusion_type=concatenate", true, warnings);
  EXPECT_EQ(c.model.fusion_type, "concat");
  EXPECT_TRUE(warnings.empty());
  // The error for a wrong value names the reference spelling too.
  EXPECT_NE(error_of([] { load_strict("model:\n  fusion_type: mlp\n"); }).find("concatenate"),
            std::string::npos);
}

TEST(ReferenceCompat, ActivationAndInitNamesAreCaseInsensitiveAsInTheReference) {
  const Config c =
      load_strict("model:\n  fusion_activation: GELU\n  init_method: Kaiming_Normal\n");
  EXPECT_EQ(c.model.fusion_activation, "gelu");
  EXPECT_EQ(c.model.init_method, "kaiming_normal");
  for (const char* name : {"relu", "gelu", "tanh", "leaky_relu", "silu"})
    EXPECT_EQ(load_strict(std::string("model:\n  fusion_activation: ") + name + "\n")
                  .model.fusion_activation,
              name);
}

TEST(ReferenceCompat, MetricIsTheObjectiveMetric) {
  std::vector<std::string> warnings;
  const Config c = load_strict("hyperparameter_search:\n  metric: val_loss\n", &warnings);
  EXPECT_EQ(c.hyperparameter_search.optimize_metric, "val_loss");
  EXPECT_TRUE(warnings.empty());
  // The resolved config names the project key once, never the reference spelling.
  const std::string yaml = config_to_yaml(c);
  EXPECT_NE(yaml.find("optimize_metric: val_loss"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("  metric:"), std::string::npos) << yaml;
}

TEST(ReferenceCompat, EnablePruningChoosesWhetherTheSearchPrunes) {
  EXPECT_EQ(
      load_strict("hyperparameter_search:\n  enable_pruning: false\n").hyperparameter_search.pruner,
      "none");
  // true keeps the configured pruner, and turns "no pruner" into the reference's median pruner.
  EXPECT_EQ(
      load_strict("hyperparameter_search:\n  enable_pruning: true\n").hyperparameter_search.pruner,
      "asha");
  EXPECT_EQ(load_strict("hyperparameter_search:\n  pruner: none\n  enable_pruning: true\n")
                .hyperparameter_search.pruner,
            "median");
  // pruner_type picks the kind, but never re-enables pruning that enable_pruning turned off,
  // whichever comes first.
  EXPECT_EQ(
      load_strict("hyperparameter_search:\n  pruner_type: median\n").hyperparameter_search.pruner,
      "median");
  EXPECT_EQ(load_strict("hyperparameter_search:\n  enable_pruning: false\n  pruner_type: median\n")
                .hyperparameter_search.pruner,
            "none");
  EXPECT_EQ(load_strict("hyperparameter_search:\n  pruner_type: hyperband\n")
                .hyperparameter_search.pruner,
            "asha");
  const std::string err =
      error_of([] { load_strict("hyperparameter_search:\n  pruner_type: percentile\n"); });
  EXPECT_NE(err.find("hyperparameter_search.pruner_type"), std::string::npos) << err;
  EXPECT_NE(err.find("median"), std::string::npos) << err;
}

TEST(ReferenceCompat, SearchSpaceLeafNamesBecomeConfigKeyPaths) {
  const Config c = load_strict(
      "hyperparameter_search:\n  search_space:\n"
      "    learning_rate: {type: float, low: 0.00001, high: 0.01, log: true}\n"
      "    batch_size: {type: categorical, choices: [16, 32]}\n"
      "    optimizer_type: {type: categorical, choices: [adam, sgd]}\n"
      "    adam_beta1: {type: float, low: 0.8, high: 0.99, condition: {optimizer_type: adam}}\n"
      "    embedding_dim: {type: categorical, choices: [64, 128]}\n"
      "    fusion_type: {type: categorical, choices: [concatenate, gated]}\n"
      "    my_own_param: {type: int, low: 1, high: 3}\n");
  EXPECT_EQ(space_names(c),
            (std::vector<std::string>{"training.learning_rate", "training.batch_size",
                                      "training.optimizer_type", "training.adam_beta1",
                                      "model.embedding_dim", "model.fusion_type", "my_own_param"}));
  const auto& space = c.hyperparameter_search.search_space;
  EXPECT_EQ(space["training.adam_beta1"]["condition"]["training.optimizer_type"].as<std::string>(),
            "adam");
  EXPECT_TRUE(space["training.learning_rate"]["log"].as<bool>());
  EXPECT_EQ(error_of([] {
              load_strict(
                  "hyperparameter_search:\n  search_space:\n"
                  "    training.learning_rate: {type: float, low: 0.001, high: 0.01}\n"
                  "    learning_rate: {type: float, low: 0.001, high: 0.1}\n");
            }),
            "hyperparameter_search.search_space: parameters 'training.learning_rate' and "
            "'learning_rate' both set 'training.learning_rate' (the reference's name of a config "
            "key and its path); keep one of the two (in test.yaml line 2)");
}

TEST(ReferenceCompat, NullValuesMeanTheReferenceDefaults) {
  const Config c = load_strict(
      "hyperparameter_search:\n  study_name: null\n  storage: null\n"
      "data:\n  splitting:\n    stratify_by: null\n    tag_grouping_threshold: null\n");
  EXPECT_EQ(c.hyperparameter_search.study_name, Config().hyperparameter_search.study_name);
  EXPECT_EQ(c.hyperparameter_search.storage, "");
  EXPECT_EQ(c.data.splitting.stratify_by, "");            // no stratification column
  EXPECT_EQ(c.data.splitting.tag_grouping_threshold, 0);  // no tag grouping
}

TEST(ReferenceCompat, ReferenceSpellingsOfDataKeys) {
  const Config c = load_strict(
      "data:\n"
      "  cache_dir: /tmp/feature_cache\n"
      "  image_compression_config: {target_quality: 70, resize_target_longest_edge: 256}\n"
      "  image_validation_config: {min_width: 32}\n"
      "  text_cleaning_config: {to_lowercase: false}\n"
      "  splitting: {strategy: simple_random}\n");
  EXPECT_EQ(c.data.cache_config.cache_directory, "/tmp/feature_cache");
  EXPECT_EQ(c.data.offline_image_compression.target_quality, 70);
  EXPECT_EQ(c.data.offline_image_compression.resize_target_longest_edge, 256);
  EXPECT_EQ(c.data.offline_image_validation.min_width, 32);
  EXPECT_FALSE(c.data.offline_text_cleaning.to_lowercase);
  EXPECT_EQ(c.data.splitting.strategy, "random");
}

TEST(ReferenceCompat, ReferenceSearchSettingsMapOntoTheProjectsKeys) {
  const Config c = load_strict(
      "hyperparameter_search:\n"
      "  n_jobs: 3\n"
      "  sampler_config: {type: RandomSampler}\n"
      "  pruner_config: {n_startup_trials: 7, n_warmup_steps: 2, min_resource: 2,\n"
      "                  max_resource: 9, reduction_factor: 4, percentile: 50.0}\n");
  const auto& h = c.hyperparameter_search;
  EXPECT_EQ(h.parallel, 3);
  EXPECT_EQ(h.sampler, "random");
  EXPECT_EQ(h.median.n_startup_trials, 7);
  EXPECT_EQ(h.median.n_warmup_steps, 2);
  EXPECT_EQ(h.asha.min_resource, 2);
  EXPECT_EQ(h.asha.max_resource, 9);
  EXPECT_EQ(h.asha.reduction_factor, 4);
  EXPECT_EQ(load_strict("hyperparameter_search:\n  pruner_config: {max_resource: auto}\n")
                .hyperparameter_search.asha.max_resource,
            0);
  EXPECT_EQ(load_strict("hyperparameter_search:\n  n_jobs: -1\n").hyperparameter_search.parallel,
            int(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(load_strict("hyperparameter_search:\n  sampler_config: {type: TPESampler}\n")
                .hyperparameter_search.sampler,
            "tpe");
  // Values the project has no equivalent for are errors that say what to use, never a silent
  // approximation.
  EXPECT_NE(error_of([] {
              load_strict("hyperparameter_search:\n  sampler_config: {type: CmaEsSampler}\n");
            }).find("TPESampler"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              load_strict("hyperparameter_search:\n  pruner_config: {percentile: 25.0}\n");
            }).find("50"),
            std::string::npos);
}

// The reference's two example configs and its config.py defaults: strict loading succeeds, the
// only warnings are the documented compat keys', and the values have their meaning.
LoadedConfig load_fixture(const std::string& name) {
  LoadedConfig loaded = load_config({{fixture(name)}, {}, /*strict=*/true});
  for (const auto& w : loaded.warnings)
    EXPECT_NE(w.find("is accepted for compatibility but has no effect"), std::string::npos)
        << name << ": " << w;
  return loaded;
}

TEST(ReferenceCompat, SimpleExampleConfigLoadsStrict) {
  const Config c = load_fixture("reference_simple_config_example.yaml").config;
  EXPECT_EQ(c.model.vision_model, "resnet");
  EXPECT_EQ(c.model.language_model, "sentence-bert");
  EXPECT_EQ(c.model.embedding_dim, 64);
  EXPECT_EQ(c.model.fusion_type, "concat");
  EXPECT_EQ(c.training.patience, 10);
  EXPECT_EQ(c.train_path(), "data/splits/split_tiny/train.csv");
  EXPECT_EQ(c.data.numerical_features_cols.size(), 7u);
  EXPECT_EQ(c.recommendation.top_k, 50);
}

TEST(ReferenceCompat, AdvancedExampleConfigLoadsStrict) {
  const LoadedConfig loaded = load_fixture("reference_advanced_config_example.yaml");
  const Config& c = loaded.config;
  EXPECT_EQ(c.model.fusion_hidden_dims, (std::vector<int>{768, 512, 256}));
  EXPECT_EQ(c.training.lr_scheduler_type, "reduce_on_plateau");
  EXPECT_EQ(c.data.numerical_normalization_method, "standardization");
  EXPECT_EQ(c.data.splitting.strategy, "leave_one_out");
  EXPECT_EQ(c.data.cache_config.cache_directory, "C:/Users/joaco/Documents/PixelRec_cache");
  const auto& h = c.hyperparameter_search;
  EXPECT_EQ(h.n_trials, 100);
  EXPECT_EQ(h.direction, "minimize");
  EXPECT_EQ(h.optimize_metric, "val_loss");
  EXPECT_EQ(h.pruner, "asha");  // enable_pruning: true keeps the default pruner
  EXPECT_EQ(space_names(c),
            (std::vector<std::string>{"training.learning_rate", "training.batch_size",
                                      "model.embedding_dim"}));
}

TEST(ReferenceCompat, ConfigPyDefaultsLoadStrict) {
  const Config c = load_fixture("reference_config_py_defaults.yaml").config;
  EXPECT_EQ(c.model.fusion_type, "concat");
  EXPECT_EQ(c.model.projection_hidden_dim, std::nullopt);
  EXPECT_EQ(c.training.early_stopping_direction, "minimize");
  EXPECT_EQ(c.data.cache_config.cache_directory, "data/cache/features");
  EXPECT_EQ(c.data.splitting.strategy, "user");
  EXPECT_EQ(c.data.splitting.stratify_by, "");
  EXPECT_EQ(c.data.splitting.tag_grouping_threshold, 0);
  const auto& h = c.hyperparameter_search;
  EXPECT_EQ(h.optimize_metric, "val_loss");
  EXPECT_EQ(h.pruner, "median");  // enable_pruning: true, pruner_type: median
  EXPECT_EQ(h.sampler, "tpe");    // sampler_config.type: TPESampler
  EXPECT_EQ(h.parallel, 1);       // n_jobs
  EXPECT_EQ(h.storage, "");
  EXPECT_EQ(h.median.n_startup_trials, 5);
  EXPECT_EQ(h.asha.max_resource, 0);  // max_resource: auto
  EXPECT_EQ(space_names(c).front(), "training.learning_rate");
}

}  // namespace
}  // namespace pixelrec
