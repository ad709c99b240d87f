// `pixelrec hpo` (no subcommand): a local study. A coordinator in this process plus
// hyperparameter_search.parallel worker groups, each `pixelrec hpo worker` on ranks_per_group
// processes (under mpirun when > 1), started as children in their own process groups. A group
// that dies is restarted (its trial's lease expires and the trial is requeued); Ctrl-C stops the
// coordinator and every group.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "app/child_process.h"
#include "app/cli_common.h"
#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "hpo/coordinator_study.h"

namespace pixelrec::app {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxRestartsPerGroup = 3;
std::atomic<int> g_interrupt{0};

extern "C" void on_interrupt(int signal) { g_interrupt.store(signal); }

struct LocalFlags {
  CommonOptions common;
  int parallel = 0;         // 0: hyperparameter_search.parallel
  int ranks_per_group = 0;  // 0: hyperparameter_search.ranks_per_group
  bool resume = false;
};

// The worker groups: started once the coordinator listens, watched, restarted when they die
// before the study is finished, and stopped at the end.
class WorkerGroups {
 public:
  WorkerGroups(std::vector<std::string> worker_args, int groups, int ranks)
      : args_(std::move(worker_args)), ranks_(ranks), slots_(size_t(groups)) {}

  void start(const std::string& address) {
    std::lock_guard<std::mutex> lock(mutex_);
    address_ = address;
    for (size_t i = 0; i < slots_.size(); ++i) spawn(i);
  }

  // Called periodically: a group that exited while the study runs is reported and restarted.
  void reap(bool study_running) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.pid <= 0) continue;
      int status = 0;
      if (waitpid(s.pid, &status, WNOHANG) != s.pid) continue;
      s.pid = 0;
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (code == 0 || !study_running) continue;
      if (s.restarts >= kMaxRestartsPerGroup) {
        spdlog::error("worker group {} exited with status {} {} times; not restarted", i, code,
                      s.restarts + 1);
        continue;
      }
      ++s.restarts;
      spdlog::warn(
          "worker group {} exited with status {}; restarting it (its trial is requeued "
          "when its lease expires)",
          i, code);
      spawn(i);
    }
  }

  // Waits up to `grace` for the groups to leave on their own, then terminates the rest.
  void stop(std::chrono::milliseconds grace) {
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      reap(false);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (Slot& s : slots_) {
      if (s.pid <= 0) continue;
      kill(-s.pid, SIGTERM);
      wait_child(s.pid);
      s.pid = 0;
    }
  }

 private:
  struct Slot {
    pid_t pid = 0;
    int restarts = 0;
  };

  bool running() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Slot& s : slots_)
      if (s.pid > 0) return true;
    return false;
  }

  void spawn(size_t i) {
    std::vector<std::string> argv = launcher_prefix(ranks_);
    argv.push_back(self_executable().string());
    argv.insert(argv.end(), {"hpo", "worker", "--coordinator", address_});
    argv.insert(argv.end(), args_.begin(), args_.end());
    slots_[i].pid = spawn_child(argv, /*own_group=*/true);
    spdlog::info("worker group {} ({} rank(s)): pid {}", i, ranks_, slots_[i].pid);
  }

  std::vector<std::string> args_;
  int ranks_;
  std::string address_;
  std::vector<Slot> slots_;
  std::mutex mutex_;
};

void run_local_study(const LocalFlags& flags) {
  LoadedConfig loaded = load_config_from(flags.common);
  Config& config = loaded.config;
  auto& h = config.hyperparameter_search;
  if (flags.parallel > 0) h.parallel = flags.parallel;
  if (flags.ranks_per_group > 0) h.ranks_per_group = flags.ranks_per_group;
  validate_config(config);
  const fs::path study_dir = hpo::study_directory(config);
  ensure_directory(study_dir);
  // Workers load the same config sources (same working directory), so they find the same study
  // folder and its token file.
  std::vector<std::string> worker_args;
  for (const auto& file : flags.common.config_files)
    worker_args.insert(worker_args.end(), {"-c", file});
  for (const auto& set : flags.common.overrides)
    worker_args.insert(worker_args.end(), {"--set", set});
  if (flags.common.strict) worker_args.push_back("--strict");
  worker_args.insert(worker_args.end(),
                     {"--log-level", flags.common.log_level.empty() ? config.runtime.log_level
                                                                    : flags.common.log_level});
  WorkerGroups groups(worker_args, h.parallel, h.ranks_per_group);
  std::atomic<bool> study_running{true};
  std::atomic<hpo::Coordinator*> coordinator{nullptr};
  g_interrupt.store(0);
  auto previous_int = std::signal(SIGINT, on_interrupt);
  auto previous_term = std::signal(SIGTERM, on_interrupt);
  // Restarts dead groups and turns Ctrl-C into a clean stop of the coordinator.
  std::thread watcher([&] {
    while (study_running.load()) {
      groups.reap(true);
      if (g_interrupt.load() != 0)
        if (auto* c = coordinator.load()) c->stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });

  hpo::CoordinatorStudyOptions options;
  options.config = config;
  options.resume = flags.resume;
  options.on_listening = [&](const std::string& host, uint16_t port) {
    spdlog::info("coordinator listening on {}:{}; starting {} worker group(s) of {} rank(s)", host,
                 port, h.parallel, h.ranks_per_group);
    groups.start(host + ":" + std::to_string(port));
  };
  options.on_started = [&](hpo::Coordinator& c) { coordinator.store(&c); };
  hpo::CoordinatorStudySummary summary;
  try {
    summary = hpo::run_coordinator_study(options);
  } catch (...) {
    study_running.store(false);
    watcher.join();
    groups.stop(std::chrono::milliseconds(0));
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    throw;
  }
  coordinator.store(nullptr);
  study_running.store(false);
  watcher.join();
  groups.stop(g_interrupt.load() ? std::chrono::milliseconds(0) : std::chrono::seconds(60));
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  if (const int signal = g_interrupt.load())
    throw Error("interrupted by signal " + std::to_string(signal) +
                "; continue the study with `pixelrec hpo --resume`");

  std::string counts;
  for (const auto& [state, n] : summary.counts)
    counts +=
        (counts.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(hpo::to_string(state));
  spdlog::info("study '{}' finished: {}; outputs in {}", summary.study_name, counts,
               summary.study_dir.string());
  if (!summary.best)
    throw Error("no trial completed; see " + (summary.study_dir / "trials.csv").string());
  spdlog::info("best trial {}: {} = {}, params {}", summary.best->number, h.optimize_metric,
               *summary.best->value, hpo::params_to_json(summary.best->params).dump());
  if (summary.test_metrics) spdlog::info("its test metrics: {}", summary.test_metrics->dump());
  std::cout << fmt::format("{}", *summary.best->value) << std::endl;  // shortest round-trip
  if (!summary.test_error.empty())
    throw Error("the test evaluation of best trial " + std::to_string(summary.best->number) +
                " failed: " + summary.test_error + "; the search's other outputs are written");
}

}  // namespace

void add_local_study(CLI::App& hpo) {
  auto flags = std::make_shared<LocalFlags>();
  add_common_options(hpo, flags->common);
  hpo.add_option("--parallel", flags->parallel,
                 "Local worker groups (default: hyperparameter_search.parallel)")
      ->check(CLI::Range(1, 256));
  hpo.add_option(flag_names("--ranks-per-group"), flags->ranks_per_group,
                 "Processes per worker group, under mpirun when > 1 (default: "
                 "hyperparameter_search.ranks_per_group)")
      ->check(CLI::Range(1, 1024));
  hpo.add_flag("--resume", flags->resume,
               "Continue the study: trials left RUNNING become STALE and run again first");
  hpo.callback([flags, &hpo] {
    if (!hpo.get_subcommands().empty()) return;  // `hpo run` / `hpo coordinator` ran instead
    run_local_study(*flags);
  });
}

}  // namespace pixelrec::app
