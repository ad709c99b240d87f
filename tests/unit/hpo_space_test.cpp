// Search-space parsing and validation: every parameter kind, conditions, and the message for
// each mistake.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "core/config.h"
#include "core/config_loader.h"
#include "core/errors.h"
#include "hpo/best_config.h"
#include "hpo/space.h"

namespace pixelrec::hpo {
namespace {

const char* const kFullSpace = R"(
direction: minimize
search_space:
  training.learning_rate: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}
  training.dropout: {type: float, low: 0.0, high: 0.5, step: 0.1}
  model.embedding_dim: {type: int, low: 32, high: 256, step: 32}
  training.batch_size: {type: int, low: 16, high: 512, log: true}
  training.optimizer: {type: categorical, choices: [adam, sgd]}
  model.use_tags: {type: categorical, choices: [true, false]}
  model.head: {type: categorical, choices: [64, 0.5, "128", mlp]}
  training.momentum: {type: float, low: 0.5, high: 0.99, condition: {training.optimizer: sgd}}
)";

SearchSpace parse_text(const std::string& yaml) {
  return SearchSpace::parse_file(YAML::Load(yaml), "space.yaml");
}

// The ConfigError message for a one-parameter-or-more space body, or "no error".
std::string error_for(const std::string& search_space_body) {
  try {
    parse_text("direction: minimize\nsearch_space:\n" + search_space_body);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

const std::string kPrefix = "space.yaml: search_space: parameter ";

TEST(HpoSpace, ParsesEveryParameterKindInDefinitionOrder) {
  const SearchSpace space = parse_text(kFullSpace);
  EXPECT_EQ(space.direction(), Direction::kMinimize);
  ASSERT_EQ(space.params().size(), 8u);

  const ParamSpec& lr = space.params()[0];
  EXPECT_EQ(lr.name, "training.learning_rate");
  EXPECT_EQ(lr.type, ParamType::kFloat);
  EXPECT_EQ(lr.low, 1e-5);
  EXPECT_EQ(lr.high, 0.1);
  EXPECT_TRUE(lr.log);
  EXPECT_EQ(lr.step, 0.0);
  EXPECT_FALSE(lr.is_discrete());

  const ParamSpec& dropout = space.params()[1];
  EXPECT_EQ(dropout.step, 0.1);
  EXPECT_TRUE(dropout.is_discrete());

  const ParamSpec& dim = space.params()[2];
  EXPECT_EQ(dim.type, ParamType::kInt);
  EXPECT_EQ(dim.low, 32.0);
  EXPECT_EQ(dim.high, 256.0);
  EXPECT_EQ(dim.step, 32.0);

  const ParamSpec& batch = space.params()[3];
  EXPECT_TRUE(batch.log);
  EXPECT_EQ(batch.step, 1.0);  // ints default to step 1
  EXPECT_EQ(space.params()[7].conditions.size(), 1u);
}

TEST(HpoSpace, CategoricalChoicesKeepTheirYamlTypeAndText) {
  const SearchSpace space = parse_text(kFullSpace);
  const ParamSpec& optimizer = *space.find("training.optimizer");
  ASSERT_EQ(optimizer.choices.size(), 2u);
  EXPECT_EQ(optimizer.choices[0].value, ParamValue(std::string("adam")));

  const ParamSpec& tags = *space.find("model.use_tags");
  EXPECT_EQ(tags.choices[0].value, ParamValue(true));
  EXPECT_EQ(tags.choices[1].value, ParamValue(false));

  const ParamSpec& head = *space.find("model.head");
  ASSERT_EQ(head.choices.size(), 4u);
  EXPECT_EQ(head.choices[0].value, ParamValue(int64_t{64}));
  EXPECT_EQ(head.choices[1].value, ParamValue(0.5));
  EXPECT_EQ(head.choices[2].value, ParamValue(std::string("128")));  // quoted: text
  EXPECT_EQ(head.choices[3].value, ParamValue(std::string("mlp")));
  EXPECT_EQ(head.choices[1].text, "0.5");
  EXPECT_EQ(head.choice_index(ParamValue(std::string("128"))), 2);
  EXPECT_EQ(head.choice_index(ParamValue(int64_t{128})), -1);
}

TEST(HpoSpace, ConditionalParameterIsActiveOnlyWhenItsConditionHolds) {
  const SearchSpace space = parse_text(kFullSpace);
  const ParamSpec& momentum = *space.find("training.momentum");
  ASSERT_EQ(momentum.conditions.size(), 1u);
  EXPECT_EQ(momentum.conditions[0].param, "training.optimizer");
  EXPECT_EQ(momentum.conditions[0].value, ParamValue(std::string("sgd")));

  EXPECT_TRUE(SearchSpace::is_active(momentum, {{"training.optimizer", std::string("sgd")}}));
  EXPECT_FALSE(SearchSpace::is_active(momentum, {{"training.optimizer", std::string("adam")}}));
  EXPECT_FALSE(SearchSpace::is_active(momentum, {}));  // the parent itself inactive
}

TEST(HpoSpace, ConditionsOnNumericAndBoolParentsMatchExactValues) {
  const SearchSpace space = parse_text(R"(
search_space:
  layers: {type: int, low: 1, high: 3}
  tags: {type: categorical, choices: [true, false]}
  width: {type: int, low: 8, high: 64, condition: {layers: 2, tags: true}}
)");
  const ParamSpec& width = *space.find("width");
  EXPECT_TRUE(SearchSpace::is_active(width, {{"layers", int64_t{2}}, {"tags", true}}));
  EXPECT_FALSE(SearchSpace::is_active(width, {{"layers", int64_t{3}}, {"tags", true}}));
  EXPECT_FALSE(SearchSpace::is_active(width, {{"layers", int64_t{2}}, {"tags", false}}));
}

TEST(HpoSpace, SpaceFileDirectionDefaultsToMaximize) {
  const SearchSpace space = parse_text("search_space:\n  x: {type: float, low: 0, high: 1}\n");
  EXPECT_EQ(space.direction(), Direction::kMaximize);
}

TEST(HpoSpace, FromConfigReadsTheSearchSpaceNodeAndDirection) {
  HyperparameterSearchConfig config;
  config.direction = "minimize";
  config.search_space = YAML::Load("training.learning_rate: {type: float, low: 0.1, high: 0.01}");
  try {
    SearchSpace::from_config(config);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "hyperparameter_search.search_space: parameter 'training.learning_rate': low (0.1) "
              "must be less than high (0.01); swap them or widen the range");
  }
  config.search_space = YAML::Load("training.learning_rate: {type: float, low: 0.01, high: 0.1}");
  EXPECT_EQ(SearchSpace::from_config(config).direction(), Direction::kMinimize);
  config.direction = "lower";
  EXPECT_THROW(SearchSpace::from_config(config), ConfigError);
}

TEST(HpoSpace, RejectsLowNotBelowHigh) {
  EXPECT_EQ(
      error_for("  lr: {type: float, low: 0.1, high: 0.01}"),
      kPrefix + "'lr': low (0.1) must be less than high (0.01); swap them or widen the range");
  EXPECT_EQ(error_for("  n: {type: int, low: 4, high: 4}"),
            kPrefix + "'n': low (4) must be less than high (4); swap them or widen the range");
}

TEST(HpoSpace, RejectsLogScaleWithNonPositiveLow) {
  EXPECT_EQ(error_for("  lr: {type: float, low: 0, high: 1, log: true}"),
            kPrefix + "'lr': log: true needs low > 0 (got 0); raise low or set log: false");
}

TEST(HpoSpace, RejectsStepThatDoesNotDivideTheRange) {
  EXPECT_EQ(error_for("  dropout: {type: float, low: 0, high: 1, step: 0.3}"),
            kPrefix +
                "'dropout': step 0.3 does not divide the range [0, 1]; use a step that "
                "divides high - low, or set high to 0.9");
  EXPECT_EQ(error_for("  units: {type: int, low: 0, high: 10, step: 3}"),
            kPrefix +
                "'units': step 3 does not divide the range [0, 10]; use a step that divides "
                "high - low, or set high to 9");
}

TEST(HpoSpace, RejectsEmptyChoices) {
  EXPECT_EQ(error_for("  opt: {type: categorical, choices: []}"),
            kPrefix + "'opt': 'choices' is empty; list at least one value");
  EXPECT_EQ(error_for("  opt: {type: categorical}"),
            kPrefix + "'opt': missing 'choices'; list the values, e.g. choices: [adam, sgd]");
}

TEST(HpoSpace, RejectsUnknownType) {
  EXPECT_EQ(error_for("  lr: {type: flaot, low: 0, high: 1}"),
            kPrefix +
                "'lr': unknown type 'flaot' (did you mean 'float'?); use float, int or "
                "categorical");
  EXPECT_EQ(error_for("  lr: {low: 0, high: 1}"),
            kPrefix + "'lr': missing 'type'; add type: float, int or categorical");
}

TEST(HpoSpace, RejectsConditionOnUnknownParameter) {
  EXPECT_EQ(error_for("  optimizer: {type: categorical, choices: [adam, sgd]}\n"
                      "  momentum: {type: float, low: 0, high: 1, condition: {optimzer: sgd}}"),
            kPrefix +
                "'momentum': condition on unknown parameter 'optimzer' (did you mean "
                "'optimizer'?); a condition must name a parameter defined above it");
}

TEST(HpoSpace, RejectsConditionOnLaterDefinedParameter) {
  EXPECT_EQ(error_for("  momentum: {type: float, low: 0, high: 1, condition: {optimizer: sgd}}\n"
                      "  optimizer: {type: categorical, choices: [adam, sgd]}"),
            kPrefix +
                "'momentum': condition on 'optimizer', which is defined after it; move "
                "'momentum' below 'optimizer'");
  EXPECT_EQ(error_for("  x: {type: int, low: 0, high: 3, condition: {x: 1}}"),
            kPrefix + "'x': the condition names the parameter itself");
}

TEST(HpoSpace, RejectsConditionValueTheParentCanNeverTake) {
  EXPECT_EQ(error_for("  optimizer: {type: categorical, choices: [adam, sgd]}\n"
                      "  momentum: {type: float, low: 0, high: 1, condition: {optimizer: sgdd}}"),
            kPrefix +
                "'momentum': condition value 'sgdd' for 'optimizer' is not one of its "
                "choices (adam, sgd); use one of them");
  EXPECT_EQ(error_for("  layers: {type: int, low: 1, high: 3}\n"
                      "  width: {type: int, low: 8, high: 64, condition: {layers: 5}}"),
            kPrefix +
                "'width': condition value '5' for 'layers' is outside its range [1, 3]; the "
                "parameter would never be active");
  EXPECT_EQ(error_for("  dim: {type: int, low: 32, high: 256, step: 32}\n"
                      "  heads: {type: int, low: 1, high: 8, condition: {dim: 40}}"),
            kPrefix +
                "'heads': condition value '40' for 'dim' is not on its grid (step 32 from "
                "32); the parameter would never be active");
}

TEST(HpoSpace, RejectsUnknownAndMisplacedKeys) {
  EXPECT_EQ(error_for("  lr: {type: float, low: 0, high: 1, logg: true}"),
            kPrefix +
                "'lr': unknown key 'logg' (did you mean 'log'?); allowed keys: type, low, "
                "high, log, step, choices, condition");
  EXPECT_EQ(error_for("  lr: {type: float, low: 0, high: 1, choices: [1]}"),
            kPrefix +
                "'lr': 'choices' applies only to categorical parameters; remove it or set "
                "type: categorical");
  EXPECT_EQ(error_for("  opt: {type: categorical, choices: [a], low: 1}"),
            kPrefix + "'opt': 'low' does not apply to a categorical parameter; remove it");
}

TEST(HpoSpace, RejectsInconsistentNumericSpecs) {
  EXPECT_EQ(error_for("  n: {type: int, low: 1.5, high: 4}"),
            kPrefix +
                "'n': 'low' must be an integer for an int parameter (got '1.5'); write a "
                "whole number");
  EXPECT_EQ(error_for("  x: {type: float, low: a, high: 1}"),
            kPrefix + "'x': 'low' must be a number (got 'a')");
  EXPECT_EQ(error_for("  x: {type: float, low: 0}"),
            kPrefix + "'x': missing 'high'; float and int parameters need low and high");
  EXPECT_EQ(error_for("  x: {type: float, low: 0.1, high: 1, log: true, step: 0.1}"),
            kPrefix +
                "'x': step and log: true cannot be combined for a float parameter; remove "
                "one");
  EXPECT_EQ(error_for("  n: {type: int, low: 1, high: 9, log: true, step: 2}"),
            kPrefix +
                "'n': log: true for an int parameter needs step 1 (got 2); remove step or "
                "log");
  EXPECT_EQ(error_for("  x: {type: float, low: 0, high: 1, log: yes}"),
            kPrefix + "'x': 'log' must be true or false (got 'yes')");
}

TEST(HpoSpace, RejectsDuplicateChoicesAndParameters) {
  EXPECT_EQ(error_for("  opt: {type: categorical, choices: [adam, sgd, adam]}"),
            kPrefix + "'opt': choice 'adam' appears twice; list each choice once");
  EXPECT_EQ(error_for("  x: {type: float, low: 0, high: 1}\n  x: {type: float, low: 0, high: 2}"),
            kPrefix + "'x': defined twice; keep one definition");
}

TEST(HpoSpace, RejectsMalformedSpaceFiles) {
  const auto message = [](const std::string& yaml) {
    try {
      parse_text(yaml);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("direction: minimize\n"),
            "space.yaml: search_space: the search space is empty; add parameters such as "
            "training.learning_rate: {type: float, low: 1.0e-5, high: 1.0e-2, log: true}");
  EXPECT_EQ(message("direction: max\nsearch_space: {x: {type: int, low: 0, high: 1}}"),
            "invalid value for space.yaml: direction: 'max'; allowed: minimize, maximize");
  EXPECT_EQ(message("serch_space: {x: {type: int, low: 0, high: 1}}"),
            "space.yaml: unknown key 'serch_space' (did you mean 'search_space'?); a space file "
            "holds only search_space and direction");
}

// The reference framework names search-space parameters by their leaf (learning_rate): they set
// the config keys of that name, so trials apply them and the winner is written as a config.
TEST(SearchSpaceReference, TheAdvancedExampleSpaceSetsConfigKeys) {
  const std::string path =
      std::string(PIXELREC_SOURCE_DIR) + "/tests/fixtures/reference_advanced_config_example.yaml";
  const Config base = load_config({{path}, {}, /*strict=*/true}).config;
  const SearchSpace space = SearchSpace::from_config(base.hyperparameter_search);
  std::vector<std::string> names;
  for (const auto& p : space.params()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"training.learning_rate", "training.batch_size",
                                             "model.embedding_dim"}));
  EXPECT_EQ(space.direction(), Direction::kMinimize);
  EXPECT_EQ(best_config_blocker(space), "");
  const Config trial = config_with_params(base, space,
                                          {{"training.learning_rate", 0.002},
                                           {"training.batch_size", int64_t{32}},
                                           {"model.embedding_dim", int64_t{128}}});
  EXPECT_DOUBLE_EQ(trial.training.learning_rate, 0.002);
  EXPECT_EQ(trial.training.batch_size, 32);
  EXPECT_EQ(trial.model.embedding_dim, 128);
}

TEST(SearchSpaceReference, ASpaceFileWithReferenceNamesAndValues) {
  const SearchSpace space = parse_text(
      "search_space:\n"
      "  optimizer_type: {type: categorical, choices: [adam, sgd]}\n"
      "  adam_beta1: {type: float, low: 0.8, high: 0.99, condition: {optimizer_type: adam}}\n"
      "  fusion_type: {type: categorical, choices: [concatenate, gated]}\n");
  ASSERT_EQ(space.params().size(), 3u);
  EXPECT_EQ(space.params()[1].name, "training.adam_beta1");
  EXPECT_EQ(space.params()[1].conditions.at(0).param, "training.optimizer_type");
  const Config trial = config_with_params(Config{}, space,
                                          {{"training.optimizer_type", std::string("adam")},
                                           {"training.adam_beta1", 0.85},
                                           {"model.fusion_type", std::string("concatenate")}});
  EXPECT_EQ(trial.model.fusion_type, "concat");
  EXPECT_DOUBLE_EQ(trial.training.adam_beta1, 0.85);
}

}  // namespace
}  // namespace pixelrec::hpo
