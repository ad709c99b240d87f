// Benchmark: how many training epochs ASHA saves against full-budget random search, on a
// deterministic family of synthetic learning curves (4 parameters, 27 epochs): epochs consumed
// until the best finished trial first comes within 1% of the best value the space can reach.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_cli.h"
#include "core/errors.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "hpo/asha.h"
#include "hpo/random_sampler.h"
#include "hpo/study.h"
#include "hpo/tpe_sampler.h"

namespace pixelrec::hpo {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kEpochs = 27;
constexpr double kNoiseSd = 0.002;
constexpr uint64_t kNoiseKey = 0xA5A4;  // keeps the noise streams apart from the samplers'

constexpr const char* kSpace = R"(
direction: maximize
search_space:
  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  width: {type: int, low: 32, high: 512, step: 32}
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.05}
  optimizer: {type: categorical, choices: [adam, sgd, rmsprop]}
)";
const std::vector<std::string> kOptimizers = {"adam", "sgd", "rmsprop"};

struct Config {
  double lr = 0;
  double width = 0;
  double dropout = 0;
  int optimizer = 0;  // index into kOptimizers
};

// val(epoch) = asymptote - (asymptote - 0.1) * exp(-epoch / tau). The asymptote peaks at lr 3e-3,
// width 512, dropout 0.2 (sgd +0.005, rmsprop -0.01); tau is ~0.8 epochs, slower for lr < 1e-3.
// Learning rates above 10^-1.6 (~0.025) converge 3x faster to a plateau 0.03 lower: they lead
// at the first rungs and end poorly, so stopping early is not trivially right.
bool in_fast_region(const Config& c) { return std::log10(c.lr) > -1.6; }

double curve(const Config& c, int64_t epoch) {
  const double u = std::log10(c.lr);
  const bool fast = in_fast_region(c);
  double asymptote = 0.90 - 0.04 * (u + 2.5) * (u + 2.5) -
                     0.06 * (1.0 - std::log2(c.width / 32.0) / 4.0) -
                     0.4 * (c.dropout - 0.2) * (c.dropout - 0.2) - (fast ? 0.03 : 0.0);
  double tau = 0.8 * std::max(1.0, std::pow(10.0, -0.5 * (u + 3.0))) *
               std::pow(c.width / 128.0, 0.05) * (1.0 + 0.2 * c.dropout) * (fast ? 0.3 : 1.0);
  if (c.optimizer == 1) {
    asymptote += 0.005;
    tau *= 1.05;
  } else if (c.optimizer == 2) {
    asymptote -= 0.01;
  }
  return asymptote - (asymptote - 0.1) * std::exp(-static_cast<double>(epoch) / tau);
}

Config config_of(const ParamMap& p) {
  const std::string& optimizer = std::get<std::string>(p.at("optimizer"));
  return {numeric_value(p.at("lr")), numeric_value(p.at("width")), numeric_value(p.at("dropout")),
          static_cast<int>(std::find(kOptimizers.begin(), kOptimizers.end(), optimizer) -
                           kOptimizers.begin())};
}

// The value trial `trial` of seed `seed` reports at `epoch`: the curve plus N(0, kNoiseSd^2) noise
// from its own stream, so every method sees the same noise for the same trial and epoch.
double observed(const Config& c, uint64_t seed, int64_t trial, int64_t epoch) {
  Rng rng =
      Rng::stream(seed, {kNoiseKey, static_cast<uint64_t>(trial), static_cast<uint64_t>(epoch)});
  return curve(c, epoch) + kNoiseSd * rng.normal();
}

// The best noiseless 27-epoch value in the space, on a dense grid (4,001 log-spaced learning
// rates x every width, dropout and optimizer), and the share of the grid (the random sampler's
// measure) that reaches `fraction` of it.
struct SpaceOptimum {
  double best = -std::numeric_limits<double>::infinity();
  Config argbest;
  double hit_share = 0;
};

// Calls visit(config) for every point of the dense grid.
template <class Visit>
void for_each_grid_point(Visit&& visit) {
  constexpr int kLrPoints = 4001;
  for (int i = 0; i < kLrPoints; ++i) {
    const double lr = std::pow(10.0, -4.0 + 3.0 * i / (kLrPoints - 1));
    for (int w = 1; w <= 16; ++w) {
      for (int d = 0; d <= 10; ++d) {
        for (int o = 0; o < 3; ++o) visit(Config{lr, 32.0 * w, 0.05 * d, o});
      }
    }
  }
}

SpaceOptimum grid_optimum(double fraction) {
  SpaceOptimum optimum;
  for_each_grid_point([&](const Config& c) {
    const double v = curve(c, kEpochs);
    if (v > optimum.best) {
      optimum.best = v;
      optimum.argbest = c;
    }
  });
  int64_t points = 0, hits = 0;
  for_each_grid_point([&](const Config& c) {
    ++points;
    hits += curve(c, kEpochs) >= fraction * optimum.best;
  });
  optimum.hit_share = static_cast<double>(hits) / static_cast<double>(points);
  return optimum;
}

enum class Method { kFullBudgetRandom, kRandomAsha, kTpeAsha };
const char* name_of(Method m) {
  switch (m) {
    case Method::kFullBudgetRandom:
      return "random, full budget";
    case Method::kRandomAsha:
      return "random + ASHA";
    case Method::kTpeAsha:
      return "TPE + ASHA";
  }
  return "?";
}

struct RunResult {
  std::optional<int64_t> epochs_to_target;  // nullopt: not reached within the budget
  int64_t epochs = 0;                       // consumed when the run stopped
  int64_t trials = 0;                       // started
  int64_t completed = 0;                    // ran all 27 epochs
  int64_t completed_fast = 0;               // of which in the fast, low-plateau region
  double best = -std::numeric_limits<double>::infinity();  // best completed value
};

// One search of `method` with `seed`, trials one at a time (so epochs are time), through the Study
// API on SQLite in `dir`. Stops when a finished trial's value reaches `target` or when `budget`
// epochs are spent. Only trials that trained all 27 epochs count: a pruned trial leaves no model.
RunResult run_search(Method method, uint64_t seed, const SearchSpace& space, double target,
                     int64_t budget, const fs::path& dir) {
  std::unique_ptr<Sampler> sampler;
  if (method == Method::kTpeAsha) {
    sampler = std::make_unique<TpeSampler>(seed);
  } else {
    sampler = std::make_unique<RandomSampler>(seed);
  }
  std::unique_ptr<Pruner> pruner;
  if (method != Method::kFullBudgetRandom) {
    AshaOptions asha;
    asha.min_resource = 1;
    asha.max_resource = kEpochs;
    asha.reduction_factor = 3;
    pruner = std::make_unique<AshaPruner>(asha, space.direction());
  }
  StudyStorage storage(dir / ("seed" + std::to_string(seed) + ".db"));
  Study study(storage, "asha-bench", space, std::move(sampler), std::move(pruner));

  RunResult result;
  while (result.epochs < budget) {
    const TrialTicket ticket = study.ask("bench", 1);
    ++result.trials;
    const Config config = config_of(ticket.params);
    double value = 0;
    int64_t epoch = 0;
    bool pruned = false;
    while (epoch < kEpochs && result.epochs < budget) {
      ++epoch;
      ++result.epochs;
      value = observed(config, seed, ticket.number, epoch);
      // Without a pruner nothing reads the reports: storing them would only add SQLite writes.
      if (method == Method::kFullBudgetRandom) continue;
      // A prune at the last epoch saves nothing: the trial has trained fully and completes.
      if (study.report(ticket.number, epoch, value) == Decision::kPrune && epoch < kEpochs) {
        pruned = true;
        break;
      }
    }
    if (epoch < kEpochs && !pruned) {  // the budget ran out mid-trial
      study.tell(ticket.number, TrialOutcome::failed("epoch budget spent"));
      break;
    }
    if (pruned) {
      study.tell(ticket.number, TrialOutcome::pruned("ASHA at epoch " + std::to_string(epoch)));
      continue;
    }
    study.tell(ticket.number, TrialOutcome::complete(value));
    ++result.completed;
    result.completed_fast += in_fast_region(config);
    result.best = std::max(result.best, value);
    if (value >= target) {
      result.epochs_to_target = result.epochs;
      break;
    }
  }
  return result;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median with unreached runs counted as infinitely late (nullopt when half or more are).
std::optional<double> censored_median(const std::vector<RunResult>& runs) {
  std::vector<double> v;
  for (const RunResult& r : runs) {
    v.push_back(r.epochs_to_target ? static_cast<double>(*r.epochs_to_target)
                                   : std::numeric_limits<double>::infinity());
  }
  const double m = median(std::move(v));
  return std::isinf(m) ? std::nullopt : std::optional<double>(m);
}

constexpr const char* kUsage =
    "bench_hpo_asha [seeds, default 20] [budget in full 27-epoch trials, default 81]";

int run(int argc, char** argv) {
  if (argc > 3) {
    throw UsageError(std::string("too many arguments; usage: ") + kUsage);
  }
  const int seeds = argc > 1 ? bench::parse_positive(argv[1], "seeds", kUsage) : 20;
  const int64_t budget =
      kEpochs * (argc > 2 ? bench::parse_positive(argv[2], "budget", kUsage) : 81);
  const SearchSpace space = SearchSpace::parse_file(YAML::Load(kSpace), "bench space");

  const SpaceOptimum optimum = grid_optimum(0.99);
  const double target = 0.99 * optimum.best;
  std::printf(
      "best noiseless 27-epoch value %.4f (lr %.2e, width %.0f, dropout %.2f, %s; dense grid)\n"
      "target %.4f (99%% of it); a random configuration reaches it with probability %.2f%%\n"
      "budget %lld epochs per search (%lld full trials), %d seeds, noise sd %.3f\n",
      optimum.best, optimum.argbest.lr, optimum.argbest.width, optimum.argbest.dropout,
      kOptimizers[static_cast<size_t>(optimum.argbest.optimizer)].c_str(), target,
      100.0 * optimum.hit_share, static_cast<long long>(budget),
      static_cast<long long>(budget / kEpochs), seeds, kNoiseSd);

  const std::vector<Method> methods = {Method::kFullBudgetRandom, Method::kRandomAsha,
                                       Method::kTpeAsha};
  const bench::TempDir dir("pixelrec-hpo-asha");
  for (Method m : methods) fs::create_directories(dir.path() / std::to_string(static_cast<int>(m)));
  // Searches are independent (own seed, own database), so they run in parallel; each result lands
  // in its own slot, so the figures do not depend on the thread count.
  std::vector<RunResult> results(methods.size() * static_cast<size_t>(seeds));
  const auto start = Clock::now();
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  parallel_for(results.size(), threads, [&](size_t i) {
    const Method m = methods[i / static_cast<size_t>(seeds)];
    const auto seed = static_cast<uint64_t>(i % static_cast<size_t>(seeds));
    results[i] = run_search(m, seed, space, target, budget,
                            dir.path() / std::to_string(static_cast<int>(m)));
  });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::printf("%-20s %9s %24s %16s %14s %12s %10s %11s\n", "method", "reached",
              "median epochs to target", "vs full budget", "trials/search", "full trials",
              "lr > 0.025", "best value");
  std::optional<double> full_median;
  for (size_t k = 0; k < methods.size(); ++k) {
    const std::vector<RunResult> runs(
        results.begin() + static_cast<std::ptrdiff_t>(k * static_cast<size_t>(seeds)),
        results.begin() + static_cast<std::ptrdiff_t>((k + 1) * static_cast<size_t>(seeds)));
    int reached = 0;
    double trials = 0, completed = 0, completed_fast = 0;
    std::vector<double> bests;
    for (const RunResult& r : runs) {
      reached += r.epochs_to_target.has_value();
      trials += static_cast<double>(r.trials) / seeds;
      completed += static_cast<double>(r.completed) / seeds;
      completed_fast += static_cast<double>(r.completed_fast) / seeds;
      bests.push_back(r.best);
    }
    const std::optional<double> to_target = censored_median(runs);
    if (k == 0) full_median = to_target;
    char median_text[32], ratio_text[32];
    if (to_target) {
      std::snprintf(median_text, sizeof median_text, "%.0f", *to_target);
    } else {
      std::snprintf(median_text, sizeof median_text, "> %lld", static_cast<long long>(budget));
    }
    if (k == 0) {
      std::snprintf(ratio_text, sizeof ratio_text, "1");
    } else if (to_target && full_median) {
      std::snprintf(ratio_text, sizeof ratio_text, "%.2f", *to_target / *full_median);
    } else if (to_target) {  // full budget did not reach it: its median is above the budget
      std::snprintf(ratio_text, sizeof ratio_text, "< %.2f",
                    *to_target / static_cast<double>(budget));
    } else {
      std::snprintf(ratio_text, sizeof ratio_text, "n/a");
    }
    std::printf("%-20s %6d/%-2d %24s %16s %14.1f %12.1f %9.0f%% %11.4f\n", name_of(methods[k]),
                reached, seeds, median_text, ratio_text, trials, completed,
                completed > 0 ? 100.0 * completed_fast / completed : 0.0, median(bests));
  }
  std::printf(
      "(a search stops at the target or the budget; trials/search and full (27-epoch) trials are "
      "means per search;\n lr > 0.025: share of the full trials in the fast, low-plateau region; "
      "best value: median of the best full trial's value; %.1f s wall on %d threads)\n",
      seconds, threads);
  return 0;
}

}  // namespace
}  // namespace pixelrec::hpo

int main(int argc, char** argv) {
  return pixelrec::bench::run_main(pixelrec::hpo::run, argc, argv);
}
