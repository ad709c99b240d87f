// Soak test of the HPO coordinator (docs/benchmarks.md, "HPO coordinator soak"): W simulated
// worker groups (soak_worker.h) run a study of N trials against the real `pixelrec hpo
// coordinator` over 127.0.0.1 while workers die mid-trial, pause past their lease and reconnect,
// and the coordinator itself is killed with SIGKILL K times mid-way and restarted with --resume.
// Afterwards every trial must be COMPLETE exactly once (with the value its worker computed) or
// FAILED with a reason, none lost, none duplicated, every result a worker saw acknowledged kept;
// the coordinator's RSS and CPU time are sampled from /proc throughout. Exit status 0 when every
// check holds, 1 otherwise (the violations are printed).
//   bench_hpo_soak [workers=64] [trials=2000] [coordinator_kills=1] [study_dir]
// With study_dir the study is kept there (the ctest short version reads its trials.csv).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_cli.h"
#include "hpo/storage.h"
#include "soak_process.h"
#include "soak_worker.h"

namespace {

namespace fs = std::filesystem;
using namespace pixelrec;
using namespace pixelrec::bench;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "bench_hpo_soak [workers=64] [trials=2000] [coordinator_kills=1] [study_dir]";
constexpr int kLeaseSeconds = 2, kHeartbeatSeconds = 1, kMaxAttempts = 3;

std::string config_yaml(const fs::path& results, int workers, int trials) {
  return "results_dir: " + results.string() + "\nhyperparameter_search:\n" +
         "  study_name: soak\n  n_trials: " + std::to_string(trials) +
         "\n  sampler: random\n  seed: 7\n  pruner: none\n  direction: minimize\n" +
         "  parallel: " + std::to_string(workers) +
         "\n  search_space:\n    x: {type: float, low: -5, high: 5}\n" +
         "    y: {type: int, low: -5, high: 5}\n" +
         "  coordinator: {port: 0, lease_seconds: " + std::to_string(kLeaseSeconds) +
         ", heartbeat_seconds: " + std::to_string(kHeartbeatSeconds) +
         ", max_attempts: " + std::to_string(kMaxAttempts) + ", idle_timeout_seconds: 30}\n";
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// (port, token) from the discovery files, when they name `pid` (any pid when 0).
std::optional<std::pair<int, std::string>> discover(const fs::path& study, pid_t pid = 0) {
  const nlohmann::json info =
      nlohmann::json::parse(read_all(study / "coordinator.json"), nullptr, false);
  if (info.is_discarded() || !info.contains("port") || !info.contains("pid")) return std::nullopt;
  if (pid != 0 && info["pid"].get<int64_t>() != pid) return std::nullopt;
  std::string token = read_all(study / "coordinator.token");
  while (!token.empty() && token.back() == '\n') token.pop_back();
  if (token.empty()) return std::nullopt;
  return std::make_pair(info["port"].get<int>(), token);
}

// One coordinator process: its samples from /proc.
struct CoordinatorRun {
  std::string label;
  std::unique_ptr<ChildProcess> process;
  Clock::time_point started;
  bool listening = false;  // sampled from then on (before, the binary is still loading)
  std::vector<ProcessSample> samples;
};

void print_run(const CoordinatorRun& run) {
  const auto& s = run.samples;
  if (s.size() < 2) {
    std::printf("%s: too short to sample\n", run.label.c_str());
    return;
  }
  double peak = 0;
  for (const ProcessSample& x : s) peak = std::max(peak, x.rss_mib);
  const auto at = [&](size_t percent) { return s[(s.size() - 1) * percent / 100].rss_mib; };
  // CPU of one core used over the first and the last fifth of its life.
  const size_t fifth = std::max<size_t>(1, s.size() / 5);
  const auto busy = [&](size_t from, size_t to) {
    return 100.0 * (s[to].cpu_seconds - s[from].cpu_seconds) /
           std::max(1e-9, s[to].seconds - s[from].seconds);
  };
  std::printf(
      "%s (exit %d): %.1f s; RSS MiB at 0/25/50/75/100%% of its life %.1f / %.1f / %.1f / %.1f / "
      "%.1f, peak %.1f; CPU %.1f s (%.0f%% of a core in the first fifth, %.0f%% in the last)\n",
      run.label.c_str(), run.process->exit_status(), s.back().seconds, at(0), at(25), at(50),
      at(75), at(100), peak, s.back().cpu_seconds, busy(0, fifth),
      busy(s.size() - 1 - fifth, s.size() - 1));
}

// Checks the stored study against what the workers were told; returns the violations.
std::vector<std::string> verify(const fs::path& study, int trials, int epochs, Ledger& ledger,
                                std::map<std::string, int64_t>& counts) {
  std::vector<std::string> bad;
  const auto fail = [&](const std::string& what) {
    if (bad.size() < 30) bad.push_back(what);
  };
  hpo::StudyStorage storage(study / "study.db");
  const auto record = storage.find_study("soak");
  if (!record) return {"no study 'soak' in " + (study / "study.db").string()};
  const std::vector<hpo::StoredTrial> stored = storage.trials(record->id);
  if (stored.size() != size_t(trials))
    fail("the study holds " + std::to_string(stored.size()) + " trials, not " +
         std::to_string(trials));
  std::lock_guard lock(ledger.mutex);
  std::optional<hpo::StoredTrial> best;
  for (size_t i = 0; i < stored.size(); ++i) {
    const hpo::StoredTrial& t = stored[i];
    const int64_t n = t.trial.number;
    const std::string name = "trial " + std::to_string(n);
    if (n != int64_t(i))
      fail("trial numbers are not 0..N-1 exactly once: " + name + " at " + std::to_string(i));
    const int acked = ledger.completes_acked.count(n) ? ledger.completes_acked.at(n) : 0;
    const int failed_acked = ledger.failures_acked.count(n) ? ledger.failures_acked.at(n) : 0;
    if (acked + failed_acked > 1) fail(name + " was acknowledged finished more than once");
    ++counts[std::string(hpo::to_string(t.trial.state))];
    if (t.trial.state == hpo::TrialState::kComplete) {
      const double expected = soak_objective(std::get<double>(t.trial.params.at("x")),
                                             std::get<int64_t>(t.trial.params.at("y")), epochs);
      if (!t.trial.value || *t.trial.value != expected) fail(name + ": stored value differs");
      if (acked == 0 && !ledger.finish_unknown.count(n))
        fail(name + " is COMPLETE but no worker's finish of it was acknowledged or in flight");
      if (!best || *t.trial.value < *best->trial.value) best = t;
    } else if (t.trial.state == hpo::TrialState::kFailed) {
      if (t.message.empty()) fail(name + " FAILED without a reason");
      const bool simulated = t.message == kSimulatedFailure;
      ++counts[simulated ? "simulated" : "expired"];
      if (!simulated && t.message.find("lease expired") == std::string::npos)
        fail(name + " FAILED for an unexpected reason: " + t.message);
      if (acked > 0) fail(name + " FAILED though its completion was acknowledged");
    } else {
      fail(name + " ended " + std::string(hpo::to_string(t.trial.state)));
    }
  }
  // Nothing a worker was told is kept may be lost.
  for (const auto& [n, k] : ledger.completes_acked) {
    if (n >= int64_t(stored.size()) || stored[size_t(n)].trial.state != hpo::TrialState::kComplete)
      fail("trial " + std::to_string(n) + ": acknowledged COMPLETE, not stored so");
  }
  for (const auto& [n, k] : ledger.failures_acked) {
    if (n >= int64_t(stored.size()) || stored[size_t(n)].trial.state != hpo::TrialState::kFailed)
      fail("trial " + std::to_string(n) + ": acknowledged FAILED, not stored so");
  }
  if (best && !storage.evaluation(record->id, best->trial.number))
    fail("the best trial's test evaluation is missing");
  counts["late"] = int64_t(storage.late_messages(record->id).size());
  // trials.csv: one line per trial after the header (no reason holds a newline).
  const std::string csv = read_all(study / "trials.csv");
  if (std::count(csv.begin(), csv.end(), '\n') != trials + 1)
    fail("trials.csv does not hold one row per trial");
  for (const std::string& s : ledger.unexpected) fail("unexpected reply: " + s);
  return bad;
}

int run(int argc, char** argv) {
  const int workers = argc > 1 ? parse_positive(argv[1], "workers", kUsage) : 64;
  const int trials = argc > 2 ? parse_positive(argv[2], "trials", kUsage) : 2000;
  const int kills = argc > 3 ? std::stoi(argv[3]) : 1;
  std::unique_ptr<TempDir> temp;
  fs::path root;
  if (argc > 4) {
    root = argv[4];
    fs::create_directories(root);
  } else {
    temp = std::make_unique<TempDir>("pixelrec-bench-soak");
    root = temp->path();
  }
  const fs::path config = root / "soak.yaml";
  const fs::path study = root / "results" / "hpo" / "soak";
  std::ofstream(config) << config_yaml(root / "results", workers, trials);
  const SoakSettings settings;
  std::printf(
      "soak: %d workers, %d trials, %d coordinator kill(s); lease %d s, heartbeat %d s, "
      "max_attempts %d; %d epochs of ~%lld ms per trial\n",
      workers, trials, kills, kLeaseSeconds, kHeartbeatSeconds, kMaxAttempts, settings.epochs,
      static_cast<long long>(settings.epoch_time.count()));
  std::fflush(stdout);

  const Clock::time_point t0 = Clock::now();
  std::vector<CoordinatorRun> runs;
  std::mutex runs_mutex;
  const auto start_coordinator = [&](bool resume) {
    std::vector<std::string> argv_ = {PIXELREC_BIN, "hpo", "coordinator", "-c", config.string()};
    if (resume) argv_.push_back("--resume");
    CoordinatorRun r;
    r.label = "coordinator " + std::to_string(runs.size() + 1) + (resume ? " (--resume)" : "");
    r.process = std::make_unique<ChildProcess>(argv_, (root / "coordinator.log").string());
    r.started = Clock::now();
    const pid_t pid = r.process->pid();
    {
      std::lock_guard lock(runs_mutex);
      runs.push_back(std::move(r));
    }
    for (int i = 0; i < 1200 && !discover(study, pid); ++i) {
      std::lock_guard lock(runs_mutex);
      if (runs.back().process->poll())
        throw Error("the coordinator exited with status " +
                    std::to_string(runs.back().process->exit_status()) + "; see " +
                    (root / "coordinator.log").string());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::lock_guard lock(runs_mutex);
    runs.back().listening = true;
  };
  start_coordinator(false);

  std::atomic<bool> stop{false}, sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      {
        std::lock_guard lock(runs_mutex);
        CoordinatorRun& r = runs.back();
        ProcessSample s;
        const double age = std::chrono::duration<double>(Clock::now() - r.started).count();
        if (r.listening && r.process->running() && sample_process(r.process->pid(), age, s))
          r.samples.push_back(s);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });

  Ledger ledger;
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      SimulatedWorker(
          w, settings, [&] { return discover(study); }, ledger, stop)
          .run();
    });
  }
  const auto deadline = t0 + std::chrono::minutes(20);
  for (int k = 1; k <= kills; ++k) {
    while (ledger.acked < int64_t(trials) * k / (kills + 1) && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    {
      std::lock_guard lock(runs_mutex);
      runs.back().process->kill9();
    }
    std::printf("killed the coordinator (SIGKILL) after %lld acknowledged trials\n",
                static_cast<long long>(ledger.acked.load()));
    std::fflush(stdout);
    fs::remove(study / "coordinator.json");  // a killed coordinator leaves it behind
    start_coordinator(true);
  }
  bool finished = false;
  while (Clock::now() < deadline) {
    {
      std::lock_guard lock(runs_mutex);
      if ((finished = runs.back().process->poll())) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  for (auto& t : threads) t.join();
  sampling = false;
  sampler.join();
  if (!finished) throw Error("the study did not finish within 20 minutes");

  std::map<std::string, int64_t> counts;
  const std::vector<std::string> violations =
      verify(study, trials, settings.epochs, ledger, counts);
  std::printf(
      "faults: %lld worker kills, %lld pauses past the lease, %lld reconnects (%lld "
      "resumed with the lease key, %lld refused), %lld connections lost to coordinator kills\n",
      static_cast<long long>(ledger.worker_kills), static_cast<long long>(ledger.pauses),
      static_cast<long long>(ledger.reconnects), static_cast<long long>(ledger.resumed),
      static_cast<long long>(ledger.resume_refused),
      static_cast<long long>(ledger.connection_losses));
  std::printf(
      "workers saw: %lld stale cancels, %lld cancelled finishes, %lld finishes in flight "
      "at a coordinator kill, %lld heartbeats, %lld evaluation(s), %lld done\n",
      static_cast<long long>(ledger.stale_cancels), static_cast<long long>(ledger.finish_cancels),
      static_cast<long long>(ledger.finish_unknown.size()),
      static_cast<long long>(ledger.heartbeats), static_cast<long long>(ledger.evaluations),
      static_cast<long long>(ledger.done));
  const auto count = [&](const char* key) { return static_cast<long long>(counts[key]); };
  std::printf(
      "study: COMPLETE %lld, FAILED %lld (%lld simulated, %lld after max_attempts expired "
      "leases), other %lld; %lld late messages recorded\n",
      count("COMPLETE"), count("FAILED"), count("simulated"), count("expired"),
      static_cast<long long>(trials) - count("COMPLETE") - count("FAILED"), count("late"));
  for (const CoordinatorRun& r : runs) print_run(r);
  std::printf("wall %.1f s: %.1f trials/s\n", wall, double(trials) / wall);
  const int last_exit = runs.back().process->exit_status();
  for (const std::string& v : violations) std::printf("VIOLATION: %s\n", v.c_str());
  if (last_exit != 0) std::printf("VIOLATION: the last coordinator exited with %d\n", last_exit);
  const bool pass = violations.empty() && last_exit == 0;
  std::printf("%s: every trial COMPLETE exactly once or FAILED with a reason, none lost\n",
              pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return pixelrec::bench::run_main(run, argc, argv); }
