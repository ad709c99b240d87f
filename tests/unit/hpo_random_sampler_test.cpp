// RandomSampler: bounds, step grids, log scale, conditions and seeding.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hpo/random_sampler.h"

namespace pixelrec::hpo {
namespace {

SearchSpace full_space() {
  return SearchSpace::parse_file(YAML::Load(R"(
direction: minimize
search_space:
  lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.1}
  dim: {type: int, low: 32, high: 256, step: 32}
  batch: {type: int, low: 16, high: 512, log: true}
  optimizer: {type: categorical, choices: [adam, sgd]}
  head: {type: categorical, choices: [64, 0.5, true, mlp]}
  momentum: {type: float, low: 0.5, high: 0.99, condition: {optimizer: sgd}}
)"),
                                 "space.yaml");
}

// Samples `n` trials with an empty history (random search never looks at it).
std::vector<ParamMap> draw(uint64_t seed, int n) {
  const SearchSpace space = full_space();
  RandomSampler sampler(seed);
  const TrialHistory history;
  std::vector<ParamMap> out;
  for (int i = 0; i < n; ++i) out.push_back(sampler.sample(space, history, i));
  return out;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(HpoRandomSampler, ValuesStayInBoundsWithTheirTypes) {
  for (const ParamMap& p : draw(1, 2000)) {
    const double lr = std::get<double>(p.at("lr"));
    EXPECT_GE(lr, 1e-5);
    EXPECT_LE(lr, 1e-1);
    const int64_t batch = std::get<int64_t>(p.at("batch"));
    EXPECT_GE(batch, 16);
    EXPECT_LE(batch, 512);
  }
}

TEST(HpoRandomSampler, StepGridsAreRespectedAndEveryGridPointIsReached) {
  std::set<int64_t> dims;
  std::set<long> dropout_steps;
  for (const ParamMap& p : draw(2, 2000)) {
    const int64_t dim = std::get<int64_t>(p.at("dim"));
    EXPECT_EQ(dim % 32, 0);
    dims.insert(dim);
    const double dropout = std::get<double>(p.at("dropout"));
    const double k = dropout / 0.1;
    EXPECT_NEAR(k, std::round(k), 1e-9);
    dropout_steps.insert(std::lround(k));
  }
  EXPECT_EQ(dims, (std::set<int64_t>{32, 64, 96, 128, 160, 192, 224, 256}));
  EXPECT_EQ(dropout_steps, (std::set<long>{0, 1, 2, 3, 4, 5}));
}

TEST(HpoRandomSampler, LogParametersAreLogUniform) {
  std::vector<double> lrs, batches;
  int below_1e3 = 0;
  for (const ParamMap& p : draw(3, 4001)) {
    const double lr = std::get<double>(p.at("lr"));
    lrs.push_back(lr);
    below_1e3 += lr < 1e-3;
    batches.push_back(static_cast<double>(std::get<int64_t>(p.at("batch"))));
  }
  // Geometric means: sqrt(1e-5 * 1e-1) = 1e-3 and sqrt(16 * 512) = 90.5.
  EXPECT_NEAR(std::log10(median_of(lrs)), -3.0, 0.1);
  EXPECT_NEAR(below_1e3 / 4001.0, 0.5, 0.03);
  EXPECT_NEAR(std::log(median_of(batches)), std::log(90.5), 0.1);
}

TEST(HpoRandomSampler, CategoricalChoicesAreUniformAndTyped) {
  std::map<std::string, int> counts;
  for (const ParamMap& p : draw(4, 4000)) counts[format_value(p.at("head"))]++;
  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [text, count] : counts) EXPECT_NEAR(count / 4000.0, 0.25, 0.03) << text;
  const ParamMap first = draw(4, 1)[0];
  EXPECT_TRUE(std::holds_alternative<std::string>(first.at("optimizer")));
}

TEST(HpoRandomSampler, ConditionalParameterIsPresentExactlyWhenActive) {
  int with_sgd = 0;
  for (const ParamMap& p : draw(5, 500)) {
    const bool sgd = std::get<std::string>(p.at("optimizer")) == "sgd";
    with_sgd += sgd;
    EXPECT_EQ(p.count("momentum"), sgd ? 1u : 0u);
    EXPECT_EQ(p.size(), sgd ? 7u : 6u);
  }
  EXPECT_GT(with_sgd, 200);
  EXPECT_LT(with_sgd, 300);
}

TEST(HpoRandomSampler, SameSeedGivesSameSuggestionsAndOtherSeedsDiffer) {
  EXPECT_EQ(draw(42, 20), draw(42, 20));
  EXPECT_NE(draw(42, 20), draw(43, 20));
}

TEST(HpoRandomSampler, SuggestionDependsOnTheTrialNumberNotOnCallOrder) {
  const SearchSpace space = full_space();
  const TrialHistory history;
  RandomSampler in_order(9), direct(9);
  for (int i = 0; i < 5; ++i) in_order.sample(space, history, i);
  EXPECT_EQ(in_order.sample(space, history, 5), direct.sample(space, history, 5));
}

}  // namespace
}  // namespace pixelrec::hpo
