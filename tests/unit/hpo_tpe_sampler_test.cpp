// TPESampler: start-up trials, direction, pruned trials, conditional parameters, determinism,
// and that it beats random search on Branin and Hartmann6.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <vector>

#include "core/errors.h"
#include "hpo/random_sampler.h"
#include "hpo/tpe_sampler.h"

namespace pixelrec::hpo {
namespace {

constexpr double kPi = 3.14159265358979323846;

SearchSpace space_of(const std::string& yaml) {
  return SearchSpace::parse_file(YAML::Load(yaml), "space.yaml");
}

using Objective = std::function<double(const ParamMap&)>;

// Runs `n_trials` sequential trials; returns the history.
TrialHistory optimize(Sampler& sampler, const SearchSpace& space, const Objective& objective,
                      int n_trials) {
  TrialHistory history;
  for (int i = 0; i < n_trials; ++i) {
    ParamMap params = sampler.sample(space, history, i);
    const double value = objective(params);
    history.add(std::move(params), TrialState::kComplete).value = value;
  }
  return history;
}

double best_value(const TrialHistory& history) {
  double best = std::numeric_limits<double>::infinity();
  for (const FrozenTrial& t : history.trials()) best = std::min(best, *t.value);
  return best;
}

double x_of(const ParamMap& p, const std::string& name = "x") { return numeric_value(p.at(name)); }

TEST(HpoTpeSampler, StartupTrialsAreExactlyTheRandomSamplersSuggestions) {
  const SearchSpace space = space_of("search_space: {x: {type: float, low: 0, high: 10}}");
  TpeSampler tpe(17);
  RandomSampler random(17);
  const TrialHistory a = optimize(
      tpe, space, [](const ParamMap& p) { return x_of(p); }, 10);
  const TrialHistory b = optimize(
      random, space, [](const ParamMap& p) { return x_of(p); }, 10);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.trials()[i].params, b.trials()[i].params);
}

TEST(HpoTpeSampler, ConcentratesWhereTheObjectiveIsGoodInEitherDirection) {
  for (const char* direction : {"minimize", "maximize"}) {
    const SearchSpace space = space_of(std::string("direction: ") + direction +
                                       "\nsearch_space: {x: {type: float, low: 0, high: 10}}");
    TpeSampler tpe(5);
    const TrialHistory h = optimize(
        tpe, space, [](const ParamMap& p) { return x_of(p); }, 40);
    double mean_after_startup = 0;
    for (int i = 10; i < 40; ++i) mean_after_startup += x_of(h.trials()[i].params) / 30;
    if (space.direction() == Direction::kMinimize) {
      EXPECT_LT(mean_after_startup, 2.5);
    } else {
      EXPECT_GT(mean_after_startup, 7.5);
    }
  }
}

TEST(HpoTpeSampler, PrunedTrialsRankByTheirLastStepThenValue) {
  // 20 pruned trials: two stopped late (step 5) at x near 0.5 with a bad value, eighteen stopped
  // at step 1 with a good value at x in [6, 9]. Optuna ranks later steps first, so the two late
  // trials are the "below" group (gamma(20) = 2) and TPE suggests small x.
  const SearchSpace space = space_of(
      "direction: minimize\n"
      "search_space: {x: {type: float, low: 0, high: 10}}");
  TrialHistory history;
  for (int i = 0; i < 20; ++i) {
    const bool late = i == 3 || i == 12;
    const double x = late ? 0.5 + 0.5 * (i == 12) : 6.0 + 3.0 * i / 19;
    FrozenTrial& t = history.add({{"x", x}}, TrialState::kPruned);
    t.intermediate_values[late ? 5 : 1] = late ? 100.0 : 0.0;
  }
  TpeSampler tpe(8);
  for (int trial = 20; trial < 30; ++trial) {
    EXPECT_LT(x_of(tpe.sample(space, history, trial)), 5.0) << "trial " << trial;
  }
}

TEST(HpoTpeSampler, FitsEachParameterOnlyOnTrialsWhereItWasActive) {
  const SearchSpace space = space_of(R"(
direction: minimize
search_space:
  optimizer: {type: categorical, choices: [adam, sgd]}
  momentum: {type: float, low: 0.5, high: 0.99, condition: {optimizer: sgd}}
)");
  // Twelve finished trials, none of which used momentum: momentum falls back to the prior.
  TrialHistory history;
  for (int i = 0; i < 12; ++i) {
    history.add({{"optimizer", std::string("adam")}}, TrialState::kComplete).value = i;
  }
  TpeSampler tpe(3);
  int with_momentum = 0;
  for (int trial = 12; trial < 60; ++trial) {
    const ParamMap p = tpe.sample(space, history, trial);
    const bool sgd = std::get<std::string>(p.at("optimizer")) == "sgd";
    ASSERT_EQ(p.count("momentum"), sgd ? 1u : 0u);
    if (!sgd) continue;
    ++with_momentum;
    EXPECT_GE(x_of(p, "momentum"), 0.5);
    EXPECT_LE(x_of(p, "momentum"), 0.99);
  }
  EXPECT_GT(with_momentum, 0);
}

TEST(HpoTpeSampler, FindsTheBestCategoryAndInteger) {
  const SearchSpace space = space_of(R"(
direction: minimize
search_space:
  kind: {type: categorical, choices: [a, b, c, d]}
  k: {type: int, low: 0, high: 20}
)");
  TpeSampler tpe(21);
  const TrialHistory h = optimize(
      tpe, space,
      [](const ParamMap& p) {
        const double k = x_of(p, "k");
        return (std::get<std::string>(p.at("kind")) == "b" ? 0.0 : 10.0) + (k - 7) * (k - 7);
      },
      60);
  int picked_b = 0;
  for (int i = 30; i < 60; ++i)
    picked_b += std::get<std::string>(h.trials()[i].params.at("kind")) == "b";
  EXPECT_GE(picked_b, 20);
  EXPECT_EQ(best_value(h), 0.0);  // kind b with k = 7
}

TEST(HpoTpeSampler, SameSeedAndHistoryGiveSameSuggestions) {
  const SearchSpace space = space_of(R"(
search_space:
  x: {type: float, low: 1.0e-4, high: 1.0, log: true}
  n: {type: int, low: 1, high: 9, step: 2}
)");
  const Objective f = [](const ParamMap& p) { return std::log(x_of(p)) + x_of(p, "n"); };
  TpeSampler a(99), b(99), c(100);
  const TrialHistory ha = optimize(a, space, f, 30), hb = optimize(b, space, f, 30);
  const TrialHistory hc = optimize(c, space, f, 30);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(ha.trials()[i].params, hb.trials()[i].params);
  EXPECT_NE(ha.trials()[20].params, hc.trials()[20].params);
  for (const FrozenTrial& t : ha.trials()) EXPECT_EQ(std::get<int64_t>(t.params.at("n")) % 2, 1);
}

TEST(HpoTpeSampler, RejectsUnworkableOptions) {
  TpeOptions options;
  options.n_ei_candidates = 0;
  EXPECT_THROW(TpeSampler(1, options), ConfigError);
  options = {};
  options.parzen.prior_weight = 0.0;
  EXPECT_THROW(TpeSampler(1, options), ConfigError);
}

// Branin on x1 in [-5, 10], x2 in [0, 15]; global minimum 0.397887.
double branin(const ParamMap& p) {
  const double x1 = x_of(p, "x1"), x2 = x_of(p, "x2");
  const double b = 5.1 / (4 * kPi * kPi), c = 5 / kPi, t = 1 / (8 * kPi);
  const double u = x2 - b * x1 * x1 + c * x1 - 6;
  return u * u + 10 * (1 - t) * std::cos(x1) + 10;
}

// Hartmann6 on [0, 1]^6; global minimum -3.32237.
double hartmann6(const ParamMap& p) {
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static const double a[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double q[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                 {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650},
                                 {4047, 8828, 8732, 5743, 1091, 381}};
  double total = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) {
      const double d = x_of(p, "x" + std::to_string(j + 1)) - q[i][j] * 1e-4;
      inner += a[i][j] * d * d;
    }
    total -= alpha[i] * std::exp(-inner);
  }
  return total;
}

TEST(HpoBenchmarks, ObjectivesHaveTheirKnownOptima) {
  EXPECT_NEAR(branin({{"x1", kPi}, {"x2", 2.275}}), 0.397887, 1e-6);
  const ParamMap h_opt = {{"x1", 0.20169},  {"x2", 0.150011}, {"x3", 0.476874},
                          {"x4", 0.275332}, {"x5", 0.311652}, {"x6", 0.6573}};
  EXPECT_NEAR(hartmann6(h_opt), -3.32237, 1e-5);
}

template <class SamplerType>
double median_best(const SearchSpace& space, const Objective& objective) {
  std::vector<double> bests;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SamplerType sampler(seed);
    bests.push_back(best_value(optimize(sampler, space, objective, 100)));
  }
  std::sort(bests.begin(), bests.end());
  return 0.5 * (bests[9] + bests[10]);
}

TEST(HpoBenchmarks, TpeBeatsRandomSearchOnBranin) {
  const SearchSpace space = space_of(R"(
direction: minimize
search_space:
  x1: {type: float, low: -5, high: 10}
  x2: {type: float, low: 0, high: 15}
)");
  const double tpe = median_best<TpeSampler>(space, branin);
  const double random = median_best<RandomSampler>(space, branin);
  std::cout << "Branin median best of 20 seeds x 100 trials: TPE " << tpe << ", random " << random
            << "\n";
  EXPECT_LT(tpe, random);
  EXPECT_LT(tpe, 0.45);
}

TEST(HpoBenchmarks, TpeBeatsRandomSearchOnHartmann6) {
  std::string yaml = "direction: minimize\nsearch_space:\n";
  for (int j = 1; j <= 6; ++j)
    yaml += "  x" + std::to_string(j) + ": {type: float, low: 0, high: 1}\n";
  const SearchSpace space = space_of(yaml);
  const double tpe = median_best<TpeSampler>(space, hartmann6);
  const double random = median_best<RandomSampler>(space, hartmann6);
  std::cout << "Hartmann6 median best of 20 seeds x 100 trials: TPE " << tpe << ", random "
            << random << "\n";
  EXPECT_LT(tpe, random);
}

}  // namespace
}  // namespace pixelrec::hpo
