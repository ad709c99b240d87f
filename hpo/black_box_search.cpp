#include "hpo/black_box_search.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>

#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/host.h"
#include "core/logging.h"
#include "core/parallel.h"
#include "core/strings.h"
#include "core/temp_files.h"
#include "hpo/best_config.h"
#include "hpo/random_sampler.h"
#include "hpo/study.h"
#include "hpo/study_lock.h"
#include "hpo/study_outputs.h"
#include "hpo/tpe_sampler.h"

namespace pixelrec::hpo {

namespace {

std::string this_worker() { return host_name() + ":" + std::to_string(::getpid()); }

// True when `worker` ("host:pid") is a pixelrec process still alive on this host: its trials are
// not stale. (The comm check keeps a recycled pid from looking alive.)
bool is_live_local_worker(const std::string& worker) {
  const size_t colon = worker.rfind(':');
  if (colon == std::string::npos || worker.substr(0, colon) != host_name()) return false;
  const auto pid = parse_int(worker.substr(colon + 1));
  if (!pid || *pid <= 0 || *pid == ::getpid()) return false;
  if (::kill(static_cast<pid_t>(*pid), 0) != 0 && errno != EPERM) return false;
  std::ifstream comm("/proc/" + std::to_string(*pid) + "/comm");
  std::string name;
  return std::getline(comm, name) && starts_with(name, "pixelrec");
}

SearchSpace load_space(const BlackBoxOptions& o) {
  const std::string source = o.space_file.string();
  const std::string text = read_file(o.space_file, "search space file");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": not valid YAML (" + e.what() +
                      "); a space file is a mapping with search_space and direction");
  }
  SearchSpace space = SearchSpace::parse_file(root, source);  // validates the whole file
  if (o.direction && *o.direction != space.direction()) {
    space = SearchSpace::parse(root["search_space"], *o.direction, source + ": search_space");
  }
  return space;
}

// Two parameters must not share a PIXELREC_PARAM_* name ("a.b" and "a_b").
void check_env_names(const SearchSpace& space, const std::string& source) {
  std::map<std::string, std::string> seen;
  for (const ParamSpec& spec : space.params()) {
    const auto [it, fresh] = seen.emplace(param_env_name(spec.name), spec.name);
    if (!fresh) {
      throw ConfigError(source + ": parameters '" + it->second + "' and '" + spec.name +
                        "' would both be passed as " + it->first + "; rename one of them");
    }
  }
}

std::unique_ptr<Sampler> make_sampler(const BlackBoxOptions& o) {
  if (o.sampler == "tpe") return std::make_unique<TpeSampler>(o.seed);
  if (o.sampler == "random") return std::make_unique<RandomSampler>(o.seed);
  throw UsageError("--sampler '" + o.sampler + "' is not known; use tpe or random");
}

std::unique_ptr<Pruner> make_pruner(const BlackBoxOptions& o, Direction direction) {
  if (o.pruner == "none") return nullptr;
  if (o.pruner == "median") return std::make_unique<MedianPruner>(o.median, direction);
  if (o.pruner == "asha") {
    if (o.asha.max_resource <= 0) {
      throw UsageError(
          "--pruner asha needs --asha-max-resource: the step (epoch) a full trial "
          "reports last");
    }
    return std::make_unique<AshaPruner>(o.asha, direction);
  }
  throw UsageError("--pruner '" + o.pruner + "' is not known; use asha, median or none");
}

std::string params_text(const ParamMap& params) {
  std::string s;
  for (const auto& [name, value] : params)
    s += (s.empty() ? "" : " ") + name + "=" + format_value(value);
  return s;
}

// Writes best_config.yaml when every parameter is a config key and a base config was given;
// otherwise removes a stale one and returns why it was skipped.
std::string write_best_config(const BlackBoxOptions& o, const SearchSpace& space,
                              const FrozenTrial& best, const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "best_config.yaml";
  std::string why = best_config_blocker(space);
  if (why.empty() && o.config_files.empty()) {
    why =
        "no base configuration was given; pass --config FILE to get a complete config that "
        "retrains the winner";
  }
  if (!why.empty()) {
    std::filesystem::remove(file);
    return why;
  }
  LoadedConfig loaded = load_config({o.config_files, o.config_overrides, o.config_strict});
  write_resolved_config(config_with_params(std::move(loaded.config), space, best.params), file);
  return "";
}

// Runs trials on `parallel` workers until the study holds n_trials and nothing is requeued.
// Trial n is sampled only once trials 0 .. n - parallel have finished (see Study::ask).
int64_t run_trials(Study& study, const BlackBoxOptions& o, const std::string& worker) {
  std::mutex mutex;
  std::condition_variable changed;
  int64_t in_flight = 0, started = 0;
  bool aborted = false;
  const auto target = static_cast<size_t>(o.n_trials);
  auto work = [&](size_t) {
    try {
      while (true) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] {
          return aborted || study.has_requeued() ||
                 (study.history().size() < target && study.can_sample_new(o.parallel)) ||
                 in_flight == 0;
        });
        if (aborted) return;
        const bool can_start = study.has_requeued() || (study.history().size() < target &&
                                                        study.can_sample_new(o.parallel));
        if (!can_start) {  // nothing left to start and nothing running: done
          changed.notify_all();
          return;
        }
        const TrialTicket ticket = study.ask(worker, o.parallel);
        ++in_flight;
        ++started;
        lock.unlock();

        const ObjectiveResult result = run_objective(
            o.objective_cmd, ticket.params,
            [&](int64_t step, double value) {
              std::lock_guard report_lock(mutex);
              return study.report(ticket.number, step, value);
            },
            o.objective);

        lock.lock();
        switch (result.status) {
          case ObjectiveStatus::kComplete:
            study.tell(ticket.number, TrialOutcome::complete(*result.value));
            break;
          case ObjectiveStatus::kPruned:
            study.tell(ticket.number, TrialOutcome::pruned(result.message));
            break;
          case ObjectiveStatus::kFailed:
            study.tell(ticket.number, TrialOutcome::failed(result.message));
            break;
        }
        --in_flight;
        const FrozenTrial& trial = study.history().at(ticket.number);
        spdlog::info("trial {} {}{} in {:.2f}s ({}){}", ticket.number, to_string(trial.state),
                     trial.value ? " " + format_value(*trial.value) : "", result.seconds,
                     params_text(ticket.params),
                     result.message.empty() ? "" : ": " + result.message);
        changed.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(mutex);
      aborted = true;
      changed.notify_all();
      throw;
    }
  };
  parallel_for(static_cast<size_t>(o.parallel), o.parallel, work);
  return started;
}

void validate(const BlackBoxOptions& o) {
  if (o.n_trials < 1) {
    throw UsageError("--n-trials must be >= 1 (got " + std::to_string(o.n_trials) + ")");
  }
  if (o.parallel < 1) {
    throw UsageError("--parallel must be >= 1 (got " + std::to_string(o.parallel) + ")");
  }
  if (std::string(trim(o.objective_cmd)).empty()) {
    throw UsageError("--objective-cmd is empty; give the command that prints the objective value");
  }
}

}  // namespace

BlackBoxSummary run_black_box_search(const BlackBoxOptions& o) {
  validate(o);
  const SearchSpace space = load_space(o);
  check_env_names(space, o.space_file.string());
  auto sampler = make_sampler(o);
  auto pruner = make_pruner(o, space.direction());

  BlackBoxSummary summary;
  summary.study_name = o.study_name.empty() ? o.space_file.stem().string() : o.study_name;
  summary.output_dir =
      o.output_dir.empty() ? std::filesystem::path("hpo") / summary.study_name : o.output_dir;
  summary.storage_path =
      o.storage_url.empty() ? summary.output_dir / "study.db" : parse_storage_url(o.storage_url);
  ensure_parent_directory(summary.storage_path);
  const StudyLock lock(summary.storage_path);  // before anything is read or written
  remove_stale_temp_files(summary.output_dir);
  StudyStorage storage(summary.storage_path);
  if (const auto existing = storage.find_study(summary.study_name); existing && !o.resume) {
    const size_t n = storage.trials(existing->id).size();
    if (n > 0) {
      throw UsageError("study '" + summary.study_name + "' in " + summary.storage_path.string() +
                       " already has " + std::to_string(n) +
                       " trials; pass --resume to continue it, or choose another --study-name "
                       "or --storage");
    }
  }
  Study study(storage, summary.study_name, space, std::move(sampler), std::move(pruner));
  const std::string worker = this_worker();
  if (o.resume) {
    for (const StoredTrial& t : study.stored_trials()) {
      if (t.trial.state == TrialState::kRunning && is_live_local_worker(t.worker)) {
        throw Error("trial " + std::to_string(t.trial.number) + " of study '" + summary.study_name +
                    "' is being run by the live process " + t.worker +
                    "; wait for it to finish (or stop it) before --resume");
      }
    }
    study.requeue_running("its run ended before the trial finished (re-run by --resume)");
  }
  for (const FrozenTrial& t : study.history().trials()) {
    if (t.state == TrialState::kStale) summary.requeued.push_back(t.number);
  }
  if (!summary.requeued.empty()) {
    spdlog::info("resuming study '{}': re-running {} stale trial(s)", summary.study_name,
                 summary.requeued.size());
  }

  summary.trials_run = run_trials(study, o, worker);

  for (const FrozenTrial& t : study.history().trials()) ++summary.counts[t.state];
  summary.best = study.best_trial();
  write_study_outputs(summary.output_dir, study.record(), space, study.stored_trials());
  if (summary.best) {
    summary.best_config_note = write_best_config(o, space, *summary.best, summary.output_dir);
    summary.best_config_written = summary.best_config_note.empty();
  } else {
    std::filesystem::remove(summary.output_dir / "best_config.yaml");
    summary.best_config_note = "no trial completed";
  }
  return summary;
}

}  // namespace pixelrec::hpo
