// The Parzen estimator and Gaussian helpers behind TPE, checked against hand-computed Optuna
// kernels (mus, sigmas, weights) and against normalisation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "hpo/parzen_estimator.h"
#include "hpo/tpe_sampler.h"

namespace pixelrec::hpo {
namespace {

ParamSpec float_spec(double low, double high, bool log = false, double step = 0.0) {
  ParamSpec spec;
  spec.name = "x";
  spec.type = ParamType::kFloat;
  spec.low = low;
  spec.high = high;
  spec.log = log;
  spec.step = step;
  return spec;
}

ParamSpec int_spec(int64_t low, int64_t high, bool log = false) {
  ParamSpec spec = float_spec(static_cast<double>(low), static_cast<double>(high), log, 1.0);
  spec.type = ParamType::kInt;
  return spec;
}

ParzenEstimator fit(const ParamSpec& spec, const std::vector<double>& obs,
                    ParzenOptions options = {}) {
  return ParzenEstimator(spec, obs, default_weights(static_cast<int64_t>(obs.size())), options);
}

TEST(HpoTpeDefaults, GammaIsTenPercentRoundedUpCappedAt25) {
  EXPECT_EQ(default_gamma(0), 0);
  EXPECT_EQ(default_gamma(1), 1);
  EXPECT_EQ(default_gamma(10), 1);
  EXPECT_EQ(default_gamma(11), 2);
  EXPECT_EQ(default_gamma(100), 10);
  EXPECT_EQ(default_gamma(241), 25);
  EXPECT_EQ(default_gamma(1000), 25);
}

TEST(HpoTpeDefaults, WeightsAreFlatBelow25ThenRampUpToTheNewest25) {
  EXPECT_EQ(default_weights(0), std::vector<double>{});
  EXPECT_EQ(default_weights(3), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(default_weights(25), std::vector<double>(25, 1.0));
  std::vector<double> w27(27, 1.0);
  w27[0] = 1.0 / 27;  // linspace(1/27, 1, 2) = [1/27, 1]
  EXPECT_EQ(default_weights(27), w27);
  const std::vector<double> w30 = default_weights(30);  // linspace(1/30, 1, 5), then 25 ones
  ASSERT_EQ(w30.size(), 30u);
  const double start = 1.0 / 30, delta = (1.0 - start) / 4;
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(w30[i], start + i * delta);
  for (int i = 5; i < 30; ++i) EXPECT_EQ(w30[i], 1.0);
}

TEST(HpoParzen, SigmaIsTheLargerNeighbourDistanceWithThePriorAmongThePoints) {
  // Points 2, 5 (prior), 8 in [0, 10]: every neighbour gap is 3; the prior spans the range.
  const ParzenEstimator pe = fit(float_spec(0, 10), {2, 8});
  EXPECT_EQ(pe.mus(), (std::vector<double>{2, 8, 5}));
  EXPECT_EQ(pe.sigmas(), (std::vector<double>{3, 3, 10}));
  const double third = 1.0 / 3;
  EXPECT_EQ(pe.weights(), (std::vector<double>{third, third, third}));
}

TEST(HpoParzen, OutermostKernelsIgnoreTheRangeEndsUnlessConsiderEndpoints) {
  // Sorted points 0.5, 5 (prior), 5.5 in [0, 10]. The last kernel's gaps are 0.5 (inner) and
  // 4.5 (to the end): without endpoints it takes 0.5, raised by the magic clip to 10/4.
  EXPECT_EQ(fit(float_spec(0, 10), {0.5, 5.5}).sigmas(), (std::vector<double>{4.5, 2.5, 10}));
  ParzenOptions endpoints;
  endpoints.consider_endpoints = true;
  EXPECT_EQ(fit(float_spec(0, 10), {0.5, 5.5}, endpoints).sigmas(),
            (std::vector<double>{4.5, 4.5, 10}));
}

TEST(HpoParzen, MagicClipBoundsSigmaBelowByRangeOverKernelCount) {
  // Three close points: gaps of 0.1 are clipped up to 10 / min(100, 1 + 4 kernels) = 2.
  EXPECT_EQ(fit(float_spec(0, 10), {4.9, 5.0, 5.1}).sigmas(), (std::vector<double>{2, 2, 2, 10}));
  ParzenOptions no_clip;
  no_clip.consider_magic_clip = false;
  const std::vector<double> raw = fit(float_spec(0, 10), {4.9, 5.0, 5.1}, no_clip).sigmas();
  EXPECT_NEAR(raw[0], 0.1, 1e-12);
  EXPECT_EQ(raw[3], 10.0);
}

TEST(HpoParzen, NoObservationsLeavesOnlyThePrior) {
  const ParzenEstimator pe = fit(float_spec(-5, 15), {});
  EXPECT_EQ(pe.weights(), std::vector<double>{1.0});
  EXPECT_EQ(pe.mus(), std::vector<double>{5.0});
  EXPECT_EQ(pe.sigmas(), std::vector<double>{20.0});
}

TEST(HpoParzen, LogParametersWorkInLogSpace) {
  const ParzenEstimator pe = fit(float_spec(1, 100, /*log=*/true), {10});
  const double range = std::log(100.0);
  EXPECT_DOUBLE_EQ(pe.mus()[0], std::log(10.0));
  EXPECT_DOUBLE_EQ(pe.mus()[1], range / 2);
  EXPECT_DOUBLE_EQ(pe.sigmas()[0], range / 3);  // the gap to the prior is 0: magic clip
  EXPECT_DOUBLE_EQ(pe.sigmas()[1], range);
}

TEST(HpoParzen, IntParametersWidenTheRangeByHalfAStep) {
  const ParzenEstimator pe = fit(int_spec(0, 10), {5});
  EXPECT_EQ(pe.mus(), (std::vector<double>{5, 5}));
  EXPECT_DOUBLE_EQ(pe.sigmas()[0], 11.0 / 3);
  EXPECT_DOUBLE_EQ(pe.sigmas()[1], 11.0);
}

double grid_mass(const ParzenEstimator& pe, double low, double high, double step) {
  double total = 0;
  for (double v = low; v <= high + step / 2; v += step) total += std::exp(pe.log_pdf(v));
  return total;
}

TEST(HpoParzen, DiscreteMassesSumToOne) {
  EXPECT_NEAR(grid_mass(fit(int_spec(0, 10), {1, 2, 9}), 0, 10, 1), 1.0, 1e-12);
  EXPECT_NEAR(grid_mass(fit(float_spec(0, 1, false, 0.25), {0.25}), 0, 1, 0.25), 1.0, 1e-12);
  EXPECT_NEAR(grid_mass(fit(int_spec(1, 64, /*log=*/true), {2, 3, 50}), 1, 64, 1), 1.0, 1e-12);
}

TEST(HpoParzen, ContinuousDensityIntegratesToOne) {
  const ParzenEstimator linear = fit(float_spec(0, 10), {0.3, 7, 7.2});
  const ParzenEstimator log = fit(float_spec(1e-4, 1, /*log=*/true), {1e-3, 0.5});
  const int n = 200000;
  double linear_total = 0, log_total = 0;
  const double log_lo = std::log(1e-4), log_width = -log_lo;
  for (int i = 0; i < n; ++i) {  // midpoint rule; the log density is per unit of log(x)
    linear_total += std::exp(linear.log_pdf((i + 0.5) * 10.0 / n)) * 10.0 / n;
    log_total +=
        std::exp(log.log_pdf(std::exp(log_lo + (i + 0.5) * log_width / n))) * log_width / n;
  }
  EXPECT_NEAR(linear_total, 1.0, 1e-6);
  EXPECT_NEAR(log_total, 1.0, 1e-6);
}

TEST(HpoParzen, CategoricalKernelsAddOneToTheObservedChoiceOverAUniformPrior) {
  ParamSpec spec;
  spec.type = ParamType::kCategorical;
  spec.choices = {{std::string("a"), "a"}, {std::string("b"), "b"}, {std::string("c"), "c"}};
  const ParzenEstimator pe = fit(spec, {0, 0, 2});
  // Four kernels (three observations + prior), each row smoothed by prior_weight / 4.
  const double obs0 = 1.25 / 1.75, other = 0.25 / 1.75, prior = 1.0 / 3;
  EXPECT_NEAR(std::exp(pe.log_pdf(0)), (2 * obs0 + other + prior) / 4, 1e-15);
  EXPECT_NEAR(std::exp(pe.log_pdf(1)), (3 * other + prior) / 4, 1e-15);
  EXPECT_NEAR(std::exp(pe.log_pdf(2)), (2 * other + obs0 + prior) / 4, 1e-15);
}

TEST(HpoParzen, SamplesLieOnTheGridWithinBounds) {
  const ParzenEstimator pe = fit(int_spec(0, 10), {0, 10});
  Rng rng(5);
  for (int i = 0; i < 1000; ++i) {
    const double v = pe.sample(rng);
    EXPECT_EQ(v, std::round(v));
    EXPECT_GE(v, 0);
    EXPECT_LE(v, 10);
  }
}

TEST(HpoGaussian, LogMassIsAccurateInTheCentreAndFarInTheTails) {
  EXPECT_NEAR(log_gauss_mass(-1, 1), std::log(0.6826894921370859), 1e-14);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_NEAR(log_gauss_mass(-inf, 0), std::log(0.5), 1e-15);
  EXPECT_NEAR(log_gauss_mass(40, 41), -804.6084420137538, 1e-9);  // log Phi(-40)
  EXPECT_DOUBLE_EQ(log_gauss_mass(-41, -40), log_gauss_mass(40, 41));
  EXPECT_EQ(log_gauss_mass(2, 2), -inf);
}

TEST(HpoGaussian, TruncatedNormalSamplesHaveTheTruncatedMean) {
  Rng rng(11);
  double centre = 0, tail = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double x = sample_truncated_normal(0, 1, 0, 5, rng);
    const double y = sample_truncated_normal(0, 1, 8, 9, rng);
    ASSERT_TRUE(x >= 0 && x <= 5);
    ASSERT_TRUE(y >= 8 && y <= 9);
    centre += x / n;
    tail += y / n;
  }
  EXPECT_NEAR(centre, 0.7978850, 0.02);  // phi(0) / (Phi(5) - 1/2)
  EXPECT_NEAR(tail, 8.1212, 0.01);       // (phi(8) - phi(9)) / (Phi(9) - Phi(8))
}

}  // namespace
}  // namespace pixelrec::hpo
