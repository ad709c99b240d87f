// Numeric feature scaling: every method on a hand-worked 3×2 matrix, statistics that come from
// the fitted rows only, and the JSON round trip.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/errors.h"
#include "features/numeric.h"
#include "support/test_support.h"

namespace pixelrec::features {
namespace {

// Columns view_number = {1, 2, 3} and share_number = {0, 3, 9}, row-major.
const std::vector<double> kTraining = {1, 0, 2, 3, 3, 9};
const std::vector<std::string> kColumns = {"view_number", "share_number"};

std::vector<float> fit_transform(NumericMethod method,
                                 const std::vector<double>& rows = kTraining) {
  NumericScaler scaler(method, kColumns);
  scaler.fit(kTraining, 3);
  std::vector<float> out(rows.size());
  scaler.transform(rows, rows.size() / 2, out.data());
  return out;
}

void expect_values(const std::vector<float>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-6) << i;
}

TEST(NumericScaler, StandardizesWithThePopulationStandardDeviation) {
  // means 2 and 4; standard deviations sqrt(2/3) and sqrt(14).
  expect_values(fit_transform(NumericMethod::kStandardization),
                {-1.2247449, -1.0690450, 0.0, -0.2672612, 1.2247449, 1.3363062});
}

TEST(NumericScaler, MinMaxMapsTheTrainingRangeToTheUnitInterval) {
  expect_values(fit_transform(NumericMethod::kMinMax), {0.0, 0.0, 0.5, 1.0 / 3.0, 1.0, 1.0});
}

TEST(NumericScaler, Log1pNeedsNoStatistics) {
  expect_values(fit_transform(NumericMethod::kLog1p),
                {0.6931472, 0.0, 1.0986123, 1.3862944, 1.3862944, 2.3025851});
}

TEST(NumericScaler, Log1pStandardizationStandardizesTheLogs) {
  expect_values(fit_transform(NumericMethod::kLog1pStandardization),
                {-1.2879332, -1.2990865, 0.1380803, 0.1655178, 1.1498530, 1.1335687});
}

TEST(NumericScaler, NoneKeepsTheValues) {
  expect_values(fit_transform(NumericMethod::kNone), {1, 0, 2, 3, 3, 9});
}

TEST(NumericScaler, ScalesNewRowsWithTheFittedStatistics) {
  expect_values(fit_transform(NumericMethod::kStandardization, {4, 12}), {2.4494897, 2.1380899});
  expect_values(fit_transform(NumericMethod::kMinMax, {5, -9}), {2.0, -1.0});
}

TEST(NumericScaler, MapsAConstantColumnToZero) {
  NumericScaler scaler(NumericMethod::kStandardization, {"constant"});
  scaler.fit({5, 5, 5}, 3);
  std::vector<float> out(3);
  scaler.transform({5, 5, 5}, 3, out.data());
  expect_values(out, {0, 0, 0});
  NumericScaler min_max(NumericMethod::kMinMax, {"constant"});
  min_max.fit({5, 5, 5}, 3);
  min_max.transform({5, 5, 5}, 3, out.data());
  expect_values(out, {0, 0, 0});
}

TEST(NumericScaler, RoundTripsThroughJsonAndFile) {
  NumericScaler scaler(NumericMethod::kLog1pStandardization, kColumns);
  scaler.fit(kTraining, 3);
  const NumericScaler copy = NumericScaler::from_json(scaler.to_json());
  EXPECT_EQ(copy.method(), NumericMethod::kLog1pStandardization);
  EXPECT_EQ(copy.columns(), kColumns);
  EXPECT_EQ(copy.to_json(), scaler.to_json());

  test::ScratchDir dir("numeric");
  scaler.save(dir / "scaler.json");
  const NumericScaler loaded = NumericScaler::load(dir / "scaler.json");
  std::vector<float> a(6), b(6);
  scaler.transform(kTraining, 3, a.data());
  loaded.transform(kTraining, 3, b.data());
  EXPECT_EQ(a, b);
}

TEST(NumericScaler, RejectsAMalformedFileNamingIt) {
  test::ScratchDir dir("numeric");
  test::write_text(dir / "scaler.json", R"({"method": "log1p", "columns": ["a"], "shift": []})");
  try {
    NumericScaler::load(dir / "scaler.json");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("'" + (dir / "scaler.json").string() + "': ", 0), 0u)
        << e.what();
  }
}

TEST(NumericMethodNames, ParseAndPrintEveryMethod) {
  for (const std::string name : {"standardization", "min_max", "log1p", "log1p_standardization",
                                 "none"})
    EXPECT_EQ(numeric_method_name(parse_numeric_method(name)), name);
  try {
    parse_numeric_method("zscore");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "numeric normalization method 'zscore' is unknown; set "
              "data.numerical_normalization_method to one of: standardization, min_max, log1p, "
              "log1p_standardization, none");
  }
}

}  // namespace
}  // namespace pixelrec::features
