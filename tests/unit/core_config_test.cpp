// Configuration: reference YAML files load, typos get suggestions, bad values get the documented
// message, --set overrides and layering work, and the resolved dump round-trips.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/config_loader.h"
#include "core/config_schema.h"
#include "core/errors.h"
#include "support/test_support.h"

namespace pixelrec {
namespace {

Config load_text(const std::string& yaml, std::vector<std::string>* warnings = nullptr,
                 bool strict = false) {
  Config config;
  std::vector<std::string> local;
  apply_config_yaml(config, yaml, "test.yaml", strict, warnings ? *warnings : local);
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

bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

TEST(Config, EveryReferenceKeyLoadsWithoutUnknownKeyWarnings) {
  const std::string path =
      std::string(PIXELREC_SOURCE_DIR) + "/tests/fixtures/reference_all_keys.yaml";
  LoadedConfig loaded = load_config({{path}, {}, /*strict=*/true});
  const Config& c = loaded.config;
  EXPECT_FALSE(any_contains(loaded.warnings, "unknown config key"));
  // Deprecated reference keys load and say why they have no effect.
  EXPECT_TRUE(any_contains(loaded.warnings, "'model.use_cross_modal_attention'"));
  EXPECT_TRUE(any_contains(loaded.warnings, "'data.image_cache_config.strategy'"));
  // Values of every type reached their struct members.
  EXPECT_EQ(c.model.vision_model, "resnet");
  EXPECT_EQ(c.model.embedding_dim, 96);
  EXPECT_FALSE(c.model.freeze_language);
  EXPECT_EQ(c.model.fusion_type, "attention");
  EXPECT_EQ(c.model.fusion_hidden_dims, (std::vector<int>{512, 256, 128}));
  EXPECT_EQ(c.model.projection_hidden_dim, 1024);
  EXPECT_EQ(c.model.init_method, "kaiming_normal");
  EXPECT_DOUBLE_EQ(c.training.learning_rate, 1e-5);
  EXPECT_EQ(c.training.optimizer_type, "sgd");
  EXPECT_DOUBLE_EQ(c.training.adam_beta1, 0.85);
  EXPECT_EQ(c.training.early_stopping_metric, "val_ndcg@10");
  EXPECT_EQ(c.data.sample_size, 10000);
  EXPECT_EQ(c.data.negative_sampling_strategy, "popularity");
  EXPECT_EQ(c.data.numerical_features_cols,
            (std::vector<std::string>{"view_number", "comment_number"}));
  EXPECT_EQ(c.data.cache_config.cache_directory, "cache");
  EXPECT_EQ(c.data.image_augmentation.crop_scale, (std::vector<double>{0.8, 1.0}));
  EXPECT_EQ(c.data.image_augmentation.blur_kernel_size, (std::vector<int>{5, 9}));
  EXPECT_EQ(c.data.text_augmentation.augmentation_type, "random_swap");
  EXPECT_EQ(c.data.offline_image_compression.resize_if_pixels_larger_than,
            (std::vector<int>{1024, 1024}));
  EXPECT_EQ(c.data.offline_image_compression.resize_target_longest_edge, 512);
  EXPECT_FALSE(c.data.offline_text_cleaning.to_lowercase);
  EXPECT_EQ(c.data.splitting.strategy, "stratified_temporal");
  EXPECT_EQ(c.data.splitting.random_state, 7);
  EXPECT_EQ(c.data.splitting.min_interactions_per_item, 3);
  EXPECT_EQ(c.recommendation.top_k, 50);
  EXPECT_EQ(c.hyperparameter_search.n_trials, 50);
  EXPECT_TRUE(c.hyperparameter_search.search_space["training.learning_rate"]["log"].as<bool>());
  EXPECT_EQ(c.train_path(), "data/splits/split_small/train.csv");
  EXPECT_EQ(c.feature_store_path(), "cache/features.h5");
}

TEST(Config, MisspeltKeySuggestsTheClosestKnownKey) {
  std::vector<std::string> warnings;
  load_text("model:\n  embeding_dim: 32\n", &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "unknown config key 'model.embeding_dim' (in test.yaml line 2): did you mean "
            "'model.embedding_dim'? The key is ignored; --strict makes this an error.");
}

TEST(Config, KeyInTheWrongSectionSuggestsWhereItLives) {
  std::vector<std::string> warnings;
  load_text("training:\n  embedding_dim: 32\n", &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("did you mean 'model.embedding_dim'?"), std::string::npos);
}

TEST(Config, UnknownKeyIsAnErrorUnderStrict) {
  EXPECT_EQ(error_of([] { load_text("data:\n  splitting:\n    stratgy: user\n", nullptr, true); }),
            "unknown config key 'data.splitting.stratgy' (in test.yaml line 3): did you mean "
            "'data.splitting.strategy'?");
}

TEST(Config, InvalidValuesNameKeyValueAndWhatIsAllowed) {
  EXPECT_EQ(error_of([] { load_text("model:\n  fusion_type: mlp\n"); }),
            "invalid value for model.fusion_type: 'mlp'; allowed: one of: concat, gated, "
            "attention (reference spelling: concatenate = concat) (in test.yaml line 2)");
  EXPECT_EQ(error_of([] { load_text("model:\n  embedding_dim: -3\n"); }),
            "invalid value for model.embedding_dim: '-3'; allowed: an integer in [1, 65536] (in "
            "test.yaml line 2)");
  EXPECT_EQ(error_of([] { load_text("training:\n  batch_size: lots\n"); }),
            "invalid value for training.batch_size: 'lots'; allowed: an integer in [1, 16777216] "
            "(in test.yaml line 2)");
  EXPECT_EQ(error_of([] { load_text("model:\n  fusion_hidden_dims: [64, 0]\n"); }),
            "invalid value for model.fusion_hidden_dims: '[64, 0]'; allowed: a non-empty list, "
            "each an integer in [1, 1048576] (in test.yaml line 2)");
  EXPECT_EQ(error_of([] { load_text("model:\n  fusion_hidden_dims: []\n"); }),
            "invalid value for model.fusion_hidden_dims: '[]'; allowed: a non-empty list, "
            "each an integer in [1, 1048576] (in test.yaml line 2)");
  EXPECT_EQ(error_of([] { load_text("data:\n  image_augmentation:\n    crop_scale: [0.5]\n"); }),
            "invalid value for data.image_augmentation.crop_scale: '[0.5]'; allowed: a list of 2 "
            "values, each a number in [0.01, 1] (in test.yaml line 3)");
  EXPECT_EQ(error_of([] { load_text("data: 5\n"); }),
            "config key 'data' (in test.yaml line 1) is a section and needs a mapping of keys "
            "below it, got '5'");
}

// The coordinator token is a secret: checked (at least 16 characters, or empty: generated), never
// quoted in an error, never written back (resolved configs, checkpoint metadata, best_config.yaml
// all come from config_to_yaml).
TEST(Config, TheCoordinatorTokenIsCheckedNeverQuotedAndNeverWrittenBack) {
  const std::string error =
      error_of([] { load_text("hyperparameter_search:\n  coordinator:\n    token: hunter2\n"); });
  EXPECT_NE(error.find("hyperparameter_search.coordinator.token"), std::string::npos) << error;
  EXPECT_NE(error.find("at least 16 characters"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  const std::string token = "s3cr3t-t0ken-0123456789";
  const Config c = load_text("hyperparameter_search:\n  coordinator:\n    token: " + token + "\n");
  EXPECT_EQ(c.hyperparameter_search.coordinator.token, token);
  EXPECT_EQ(config_to_yaml(c).find(token), std::string::npos);
  EXPECT_NO_THROW(load_text("hyperparameter_search:\n  coordinator:\n    token: ''\n"));
}

TEST(Config, RatiosMustSumToOne) {
  Config c;
  c.data.splitting.train_final_ratio = 0.7;
  EXPECT_NE(error_of([&] { validate_config(c); })
                .find("data.splitting.train_final_ratio + val_final_ratio + test_final_ratio must "
                      "sum to 1"),
            std::string::npos);
}

TEST(Config, ABaselineStudyTunesOnlyThatBaselinesKeysAndARankingMetric) {
  const auto study = [](const std::string& target, const std::string& param,
                        const std::string& metric = "val_ndcg@10") {
    return load_text("hyperparameter_search:\n  target: " + target +
                     "\n  optimize_metric: " + metric + "\n  search_space:\n    " + param +
                     ": {type: float, low: 1.0, high: 100.0}\n");
  };
  EXPECT_NO_THROW(validate_config(study("ease", "evaluation.ease_lambda")));
  EXPECT_NO_THROW(validate_config(study("ials", "evaluation.ials_regularization")));
  EXPECT_NO_THROW(validate_config(study("userknn", "evaluation.knn_shrinkage")));
  EXPECT_NO_THROW(validate_config(study("model", "training.learning_rate")));
  EXPECT_EQ(error_of([&] { validate_config(study("ease", "evaluation.knn_shrinkage")); }),
            "hyperparameter_search.search_space: parameter 'evaluation.knn_shrinkage' does not "
            "change the 'ease' baseline (hyperparameter_search.target); tune "
            "evaluation.ease_lambda, or set target: model to tune the model");
  EXPECT_EQ(error_of([&] { validate_config(study("ials", "evaluation.ials_alpha", "val_loss")); }),
            "hyperparameter_search.optimize_metric 'val_loss' is a training loss; the 'ials' "
            "baseline reports ranking metrics only: use e.g. val_ndcg@10");
  EXPECT_NE(error_of([] {
              load_text("hyperparameter_search:\n  target: bpr\n");
            }).find("hyperparameter_search.target"),
            std::string::npos);
}

TEST(Config, NullDisablesAModalityAndClearsOptionalValues) {
  Config c = load_text("model:\n  vision_model: null\n  projection_hidden_dim: 64\n");
  EXPECT_EQ(c.model.vision_model, "none");
  EXPECT_EQ(c.model.projection_hidden_dim, 64);
  std::vector<std::string> w;
  apply_config_override(c, "model.projection_hidden_dim=null", false, w);
  EXPECT_FALSE(c.model.projection_hidden_dim.has_value());
  EXPECT_EQ(error_of([] {
              load_text("model:\n  vision_model: vgg\n");
            }).rfind("invalid value for model.vision_model: 'vgg'; allowed: builtin, none", 0),
            0u);
}

// Training reads cached, frozen-backbone features: augmentation keys (the reference's configs set
// them) load, and each one given says it has no effect instead of being silently ignored.
TEST(Config, AugmentationKeysSayTheyHaveNoEffect) {
  std::vector<std::string> warnings;
  load_text(
      "data:\n  image_augmentation:\n    enabled: true\n    brightness: 0.4\n"
      "  text_augmentation:\n    enabled: true\n",
      &warnings);
  ASSERT_EQ(warnings.size(), 3u);
  for (const char* key : {"data.image_augmentation.enabled", "data.image_augmentation.brightness",
                          "data.text_augmentation.enabled"}) {
    const auto w = std::find_if(warnings.begin(), warnings.end(), [key](const std::string& s) {
      return s.find(std::string("'") + key + "'") != std::string::npos;
    });
    ASSERT_NE(w, warnings.end()) << key;
    EXPECT_NE(w->find("has no effect: training reads the feature vectors that `pixelrec cache` "
                      "extracted once with frozen backbones"),
              std::string::npos)
        << *w;
  }
  // Not written into resolved configs unless set, so they load back without warnings.
  EXPECT_EQ(config_to_yaml(Config{}).find("augmentation"), std::string::npos);
}

TEST(Config, SetOverridesParseYamlValues) {
  Config c;
  std::vector<std::string> w;
  apply_config_override(c, "training.epochs=7", false, w);
  apply_config_override(c, "model.fusion_hidden_dims=[32, 16]", false, w);
  apply_config_override(c, "model.use_batch_norm=false", false, w);
  apply_config_override(c, "data.splitting.strategy=item", false, w);
  apply_config_override(c, "hyperparameter_search.search_space.lr.high=0.5", false, w);
  EXPECT_EQ(c.training.epochs, 7);
  EXPECT_EQ(c.model.fusion_hidden_dims, (std::vector<int>{32, 16}));
  EXPECT_FALSE(c.model.use_batch_norm);
  EXPECT_EQ(c.data.splitting.strategy, "item");
  EXPECT_DOUBLE_EQ(c.hyperparameter_search.search_space["lr"]["high"].as<double>(), 0.5);
  // Search-space names are dotted key paths themselves: a whole parameter, then one of its keys.
  apply_config_override(c,
                        "hyperparameter_search.search_space.training.learning_rate={type: float, "
                        "low: 0.001, high: 0.1}",
                        false, w);
  apply_config_override(c, "hyperparameter_search.search_space.training.learning_rate.high=0.2",
                        false, w);
  const YAML::Node& space = c.hyperparameter_search.search_space;
  EXPECT_DOUBLE_EQ(space["training.learning_rate"]["high"].as<double>(), 0.2);
  EXPECT_DOUBLE_EQ(space["training.learning_rate"]["low"].as<double>(), 0.001);
  EXPECT_FALSE(space["training"].IsDefined());
  EXPECT_TRUE(w.empty());
  apply_config_override(c, "training.epoch=3", false, w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("did you mean 'training.epochs'?"), std::string::npos);
  EXPECT_EQ(error_of([&] { apply_config_override(c, "training", false, w); }),
            "--set expects key.path=value, got 'training'");
  EXPECT_EQ(error_of([&] { apply_config_override(c, "data.splitting=3", false, w); }),
            "--set data.splitting: that is a section, not a key; set one of its keys");
}

TEST(Config, LaterFilesOverrideEarlierOnesAndSetComesLast) {
  test::ScratchDir dir("config_layers");
  test::write_text(dir / "a.yaml", "training:\n  epochs: 3\n  batch_size: 16\n");
  test::write_text(dir / "b.yaml", "training:\n  epochs: 5\n");
  LoadedConfig loaded = load_config(
      {{(dir / "a.yaml").string(), (dir / "b.yaml").string()}, {"training.batch_size=64"}, false});
  EXPECT_EQ(loaded.config.training.epochs, 5);
  EXPECT_EQ(loaded.config.training.batch_size, 64);
}

TEST(Config, ResolvedDumpHoldsEveryKeyAndRoundTripsWithoutWarnings) {
  Config c = load_text("model:\n  embedding_dim: 48\n  projection_hidden_dim: null\n");
  const std::string dumped = config_to_yaml(c);
  for (const auto& field : config_fields()) {
    if (field.compat_only) continue;  // a reference spelling: the project key it sets is written
    if (!field.deprecation.empty()) continue;  // compat keys: only when given (next test)
    const std::string leaf = field.path.substr(field.path.rfind('.') + 1);
    EXPECT_NE(dumped.find(leaf + ":"), std::string::npos) << field.path;
  }
  std::vector<std::string> warnings;
  Config reloaded = load_text(dumped, &warnings, /*strict=*/true);
  EXPECT_EQ(config_to_yaml(reloaded), dumped);
  EXPECT_EQ(reloaded.model.embedding_dim, 48);
  EXPECT_TRUE(warnings.empty()) << warnings.size() << " warnings, the first: " << warnings.at(0);
}

// A resolved config loads back quietly: compat keys (accepted, no effect, a warning) are written
// back only when the user's config or --set gave them a value (other than the default, which is
// what an unset key has), so their warning is the user's own.
TEST(Config, CompatKeysAreWrittenBackOnlyWhenGiven) {
  int compat_keys = 0;
  for (const auto& field : config_fields()) compat_keys += !field.deprecation.empty();
  ASSERT_GT(compat_keys, 0);
  const std::string plain = config_to_yaml(Config{});
  EXPECT_EQ(plain.find("cross_modal_attention_weight"), std::string::npos);
  EXPECT_EQ(plain.find("log_dir"), std::string::npos);

  std::vector<std::string> given_warnings;
  Config given = load_text("model:\n  cross_modal_attention_weight: 0.25\n", &given_warnings);
  apply_config_override(given, "log_dir=tb", false, given_warnings);
  EXPECT_EQ(given_warnings.size(), 2u);
  const std::string dumped = config_to_yaml(given);
  EXPECT_NE(dumped.find("cross_modal_attention_weight: 0.25"), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("log_dir: tb"), std::string::npos) << dumped;
  std::vector<std::string> reloaded_warnings;
  Config reloaded = load_text(dumped, &reloaded_warnings);
  EXPECT_EQ(reloaded_warnings.size(), 2u);  // the user's own two, not every compat key's
  EXPECT_EQ(config_to_yaml(reloaded), dumped);
}

TEST(Config, MalformedYamlNamesTheFile) {
  EXPECT_NE(
      error_of([] { load_text("model: [unclosed\n"); }).find("cannot parse YAML in test.yaml"),
      std::string::npos);
  EXPECT_EQ(error_of([] { load_text("- a\n- b\n"); }),
            "config test.yaml must be a mapping of sections (model:, training:, data:, ...)");
}

TEST(Config, MissingConfigFileIsAClearError) {
  EXPECT_NE(error_of([] {
              load_config({{"/nonexistent/cfg.yaml"}, {}, false});
            }).find("cannot read config file '/nonexistent/cfg.yaml': no such file"),
            std::string::npos);
}

}  // namespace
}  // namespace pixelrec
