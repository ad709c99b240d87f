// Benchmark: TpeSampler suggestion latency with 100 and 1,000 COMPLETE trials in an in-memory
// history (a 6-parameter mixed space), against the RandomSampler in the same run, and the
// end-to-end cost of ask() + tell() through a Study on SQLite up to 1,000 trials.
#include <time.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "core/errors.h"
#include "core/hash.h"
#include "core/rng.h"
#include "hpo/random_sampler.h"
#include "hpo/study.h"
#include "hpo/tpe_sampler.h"

namespace pixelrec::hpo {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// log float, float with step, int with step, categorical, a parameter conditional on it, log int.
constexpr const char* kSpace = R"(
direction: minimize
search_space:
  lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.05}
  embedding_dim: {type: int, low: 32, high: 256, step: 32}
  optimizer: {type: categorical, choices: [adam, sgd, adamw]}
  momentum: {type: float, low: 0.5, high: 0.99, condition: {optimizer: sgd}}
  batch_size: {type: int, low: 16, high: 512, log: true}
)";

constexpr uint64_t kSeed = 2026;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU seconds of the calling thread, in ms: unlike wall time, not inflated when other processes
// share the cores.
double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return 1e3 * static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_nsec);
}

// The 1-minute load average: other processes on the machine's cores distort latencies.
double load_average() {
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

// A smooth synthetic loss (minimum near lr 3e-3, dropout 0.2, dim 160, sgd with momentum 0.9).
double objective(const ParamMap& p) {
  const double lr = std::log10(numeric_value(p.at("lr"))) + 2.5;
  const double dropout = numeric_value(p.at("dropout")) - 0.2;
  const double dim = (numeric_value(p.at("embedding_dim")) - 160.0) / 100.0;
  const double batch = std::log2(numeric_value(p.at("batch_size"))) - 7.0;
  const bool sgd = std::get<std::string>(p.at("optimizer")) == "sgd";
  const double momentum = sgd ? numeric_value(p.at("momentum")) - 0.9 : 0.0;
  return lr * lr + 4.0 * dropout * dropout + dim * dim + 0.05 * batch * batch +
         (sgd ? 10.0 * momentum * momentum - 0.1 : 0.0);
}

// `n` COMPLETE trials with random parameters (the sampler's cost depends on n, not on where the
// observations lie).
TrialHistory random_history(const SearchSpace& space, int64_t n) {
  RandomSampler sampler(kSeed + 1);
  TrialHistory history;
  for (int64_t i = 0; i < n; ++i) {
    ParamMap params = sampler.sample(space, history, i);
    const double value = objective(params);
    history.add(std::move(params), TrialState::kComplete).value = value;
  }
  return history;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Nearest-rank 99th percentile.
double p99(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::ceil(0.99 * static_cast<double>(v.size()))) - 1];
}

// Per-call times in ms: wall clock, and CPU time of the calling thread.
struct Timings {
  std::vector<double> wall, cpu;

  template <class F>
  auto time(F&& call) {
    const double cpu0 = thread_cpu_ms();
    const auto t0 = Clock::now();
    auto result = call();
    wall.push_back(ms_since(t0));
    cpu.push_back(thread_cpu_ms() - cpu0);
    return result;
  }
  // The last `n` calls only.
  Timings last(size_t n) const {
    n = std::min(n, wall.size());
    return {{wall.end() - static_cast<std::ptrdiff_t>(n), wall.end()},
            {cpu.end() - static_cast<std::ptrdiff_t>(n), cpu.end()}};
  }
};

void add_params(Hasher& digest, const ParamMap& params) {
  for (const auto& [name, value] : params) digest.add(name).add(format_value(value));
}

// Times `count` suggestions for trials n, n + 1, ... (each its own random stream) from the same
// history; every suggestion goes into `digest`, so a faster sampler can be checked to suggest the
// same values.
Timings time_suggestions(Sampler& sampler, const SearchSpace& space, const TrialHistory& history,
                         int count, Hasher& digest) {
  const auto first = static_cast<int64_t>(history.size());
  add_params(digest, sampler.sample(space, history, first));  // warm-up, untimed
  Timings t;
  for (int i = 0; i < count; ++i) {
    add_params(digest, t.time([&] { return sampler.sample(space, history, first + 1 + i); }));
  }
  return t;
}

void print_timings(const char* what, const Timings& t) {
  std::printf("  %-8s wall median %9.4f ms  p99 %9.4f ms | CPU median %9.4f ms  p99 %9.4f ms\n",
              what, median(t.wall), p99(t.wall), median(t.cpu), p99(t.cpu));
}

void bench_sampler_latency(const SearchSpace& space, int count) {
  for (int64_t n : {100, 1000}) {
    const TrialHistory history = random_history(space, n);
    Hasher tpe_digest, random_digest;
    TpeSampler tpe(kSeed);
    RandomSampler random(kSeed);
    const Timings t = time_suggestions(tpe, space, history, count, tpe_digest);
    const Timings r = time_suggestions(random, space, history, count, random_digest);
    std::printf("history of %lld COMPLETE trials, %d suggestions each:\n",
                static_cast<long long>(n), count);
    print_timings("TPE", t);
    print_timings("random", r);
    std::printf("  TPE / random (wall medians): %.0fx   suggestion digests: TPE %s, random %s\n",
                median(t.wall) / median(r.wall), tpe_digest.hex().c_str(),
                random_digest.hex().c_str());
  }
}

void bench_study(const SearchSpace& space, int64_t n_trials) {
  const bench::TempDir dir("pixelrec-hpo-latency");
  StudyStorage storage(dir.path() / "study.db");
  Study study(storage, "latency", space, std::make_unique<TpeSampler>(kSeed), nullptr);
  Timings ask, tell;
  const auto start = Clock::now();
  for (int64_t i = 0; i < n_trials; ++i) {
    const TrialTicket ticket = ask.time([&] { return study.ask("bench", 1); });
    const double value = objective(ticket.params);
    tell.time([&] {
      study.tell(ticket.number, TrialOutcome::complete(value));
      return 0;
    });
  }
  const double total_ms = ms_since(start);
  const size_t last = std::min<size_t>(100, static_cast<size_t>(n_trials));
  std::printf("Study (TPE, SQLite in %s), %lld trials of ask() + tell():\n",
              dir.path().parent_path().c_str(), static_cast<long long>(n_trials));
  std::printf("  all trials: %.2f s wall, %.3f ms per trial\n", total_ms / 1000.0,
              total_ms / static_cast<double>(n_trials));
  std::printf("  last %zu trials (history of %lld-%lld trials):\n", last,
              static_cast<long long>(n_trials - static_cast<int64_t>(last)),
              static_cast<long long>(n_trials - 1));
  print_timings("ask()", ask.last(last));
  print_timings("tell()", tell.last(last));
  const std::optional<FrozenTrial> best = study.best_trial();
  std::printf("  best trial %lld, value %.6f\n", static_cast<long long>(best->number),
              *best->value);
}

constexpr const char* kUsage =
    "bench_hpo_tpe_latency [suggestions per size, default 200] [study trials, default 1000]";

int run(int argc, char** argv) {
  if (argc > 3) {
    throw UsageError(std::string("too many arguments; usage: ") + kUsage);
  }
  const int count = argc > 1 ? bench::parse_positive(argv[1], "suggestions per size", kUsage) : 200;
  const int n_trials = argc > 2 ? bench::parse_positive(argv[2], "study trials", kUsage) : 1000;
  const SearchSpace space = SearchSpace::parse_file(YAML::Load(kSpace), "bench space");
  std::printf("load average before: %.2f\n", load_average());
  bench_sampler_latency(space, count);
  bench_study(space, n_trials);
  std::printf("load average after: %.2f\n", load_average());
  return 0;
}

}  // namespace
}  // namespace pixelrec::hpo

int main(int argc, char** argv) {
  return pixelrec::bench::run_main(pixelrec::hpo::run, argc, argv);
}
