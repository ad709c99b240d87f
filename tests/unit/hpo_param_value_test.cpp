// Parameter values: their shortest text and their JSON form, types preserved.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "hpo/param_value.h"

namespace pixelrec::hpo {
namespace {

TEST(HpoValues, YamlScalarsAreTypedByTheYaml12CoreSchema) {
  const YAML::Node list = YAML::Load(
      "[adam, 'sgd', \"64\", 64, -3, +7, 0.5, 1e-3, .5, 2., true, False, TRUE, yes, "
      "1.2.3, 0x10, ~, null]");
  std::vector<std::optional<ParamValue>> values;
  for (const auto& item : list) values.push_back(yaml_scalar_value(item));
  const std::vector<std::optional<ParamValue>> expected = {std::string("adam"),
                                                           std::string("sgd"),
                                                           std::string("64"),
                                                           int64_t{64},
                                                           int64_t{-3},
                                                           int64_t{7},
                                                           0.5,
                                                           0.001,
                                                           0.5,
                                                           2.0,
                                                           true,
                                                           false,
                                                           true,
                                                           std::string("yes"),
                                                           std::string("1.2.3"),
                                                           std::string("0x10"),
                                                           std::nullopt,
                                                           std::nullopt};
  EXPECT_EQ(values, expected);
  EXPECT_EQ(yaml_scalar_value(YAML::Load("{a: 1}")), std::nullopt);
}

TEST(HpoValues, FormatValueGivesTheShortestRoundTripText) {
  EXPECT_EQ(format_value(ParamValue(0.001)), "0.001");
  EXPECT_EQ(format_value(ParamValue(0.1 + 0.2)), "0.30000000000000004");
  EXPECT_EQ(format_value(ParamValue(int64_t{64})), "64");
  EXPECT_EQ(format_value(ParamValue(10.0)), "10");
  EXPECT_EQ(format_value(ParamValue(1e-5)), "1e-05");
  EXPECT_EQ(format_value(ParamValue(false)), "false");
  EXPECT_EQ(format_value(ParamValue(std::string("adam"))), "adam");
}

TEST(HpoValues, ParamsRoundTripThroughJsonWithTheirTypes) {
  const ParamMap params = {{"model.embedding_dim", int64_t{64}},
                           {"training.learning_rate", 0.001},
                           {"model.use_tags", true},
                           {"training.optimizer", std::string("adam")}};
  const nlohmann::json json = params_to_json(params);
  EXPECT_EQ(json.dump(),
            R"({"model.embedding_dim":64,"model.use_tags":true,"training.learning_rate":0.001,)"
            R"("training.optimizer":"adam"})");
  EXPECT_EQ(params_from_json(nlohmann::json::parse(json.dump())), params);
  // A float that happens to be whole stays a float.
  EXPECT_EQ(params_from_json(params_to_json({{"x", 2.0}})), (ParamMap{{"x", 2.0}}));
}

TEST(HpoValues, ParamsFromJsonRejectsNonScalars) {
  try {
    params_from_json(nlohmann::json::parse(R"({"x": [1, 2]})"));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "parameters JSON: 'x' is array; each value must be a number, a bool or a string");
  }
  EXPECT_THROW(params_from_json(nlohmann::json::parse("[1]")), Error);
}

}  // namespace
}  // namespace pixelrec::hpo
