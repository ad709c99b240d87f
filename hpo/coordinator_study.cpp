#include "hpo/coordinator_study.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/host.h"
#include "core/logging.h"
#include "core/temp_files.h"
#include "core/text_formats.h"
#include "hpo/asha.h"
#include "hpo/best_config.h"
#include "hpo/median_pruner.h"
#include "hpo/protocol.h"
#include "hpo/random_sampler.h"
#include "hpo/study_finished_marker.h"
#include "hpo/study_lock.h"
#include "hpo/study_outputs.h"
#include "hpo/tpe_sampler.h"

namespace pixelrec::hpo {

namespace {

std::unique_ptr<Sampler> make_sampler(const HyperparameterSearchConfig& h) {
  const auto seed = static_cast<uint64_t>(h.seed);
  if (h.sampler == "tpe") return std::make_unique<TpeSampler>(seed);
  if (h.sampler == "random") return std::make_unique<RandomSampler>(seed);
  throw ConfigError("hyperparameter_search.sampler '" + h.sampler +
                    "' is not known; use tpe or random");
}

std::unique_ptr<Pruner> make_pruner(const Config& config, Direction direction) {
  const HyperparameterSearchConfig& h = config.hyperparameter_search;
  if (h.pruner == "none") return nullptr;
  if (h.pruner == "median") {
    MedianOptions median;
    median.n_startup_trials = h.median.n_startup_trials;
    median.n_warmup_steps = h.median.n_warmup_steps;
    return std::make_unique<MedianPruner>(median, direction);
  }
  if (h.pruner == "asha") {
    AshaOptions asha;
    asha.min_resource = h.asha.min_resource;
    asha.max_resource = h.asha.max_resource > 0 ? h.asha.max_resource : config.training.epochs;
    asha.reduction_factor = h.asha.reduction_factor;
    if (asha.max_resource < asha.min_resource) {
      throw ConfigError("hyperparameter_search.asha.max_resource (" +
                        std::to_string(asha.max_resource) +
                        (h.asha.max_resource > 0 ? "" : ", from training.epochs") +
                        ") is below asha.min_resource (" + std::to_string(asha.min_resource) +
                        "); raise max_resource or lower min_resource");
    }
    return std::make_unique<AshaPruner>(asha, direction);
  }
  throw ConfigError("hyperparameter_search.pruner '" + h.pruner +
                    "' is not known; use asha, median or none");
}

// The token file: written to a 0600 temp file and renamed, so it is never readable by others,
// not even for an instant (write_file_atomic creates files with the default mode).
void write_secret_atomic(const std::filesystem::path& path, const std::string& contents) {
  const std::filesystem::path tmp = temp_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  for (size_t done = 0; ok && done < contents.size();) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  const int err = errno;
  ok = ok && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::filesystem::remove(tmp);
    throw Error("cannot write " + path.string() + ": " + std::strerror(ok ? errno : err) +
                "; check that the study folder is writable");
  }
}

void write_discovery(const std::filesystem::path& dir, const Coordinator& coordinator,
                     const std::string& token) {
  // A wildcard listen address is not an address a worker can connect to.
  const bool wildcard = coordinator.host() == "0.0.0.0" || coordinator.host() == "::";
  const nlohmann::json info = {{"host", wildcard ? host_name() : coordinator.host()},
                               {"port", coordinator.port()},
                               {"pid", static_cast<int64_t>(::getpid())},
                               {"version", protocol::kVersion}};
  // The folder holding the token is the owner's alone (the token file itself is 0600).
  std::error_code ec;
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec)
    throw Error("cannot restrict the study folder " + dir.string() +
                " to its owner: " + ec.message());
  write_secret_atomic(dir / "coordinator.token", token + "\n");
  write_file_atomic(dir / "coordinator.json", info.dump(2) + "\n");
}

}  // namespace

std::filesystem::path study_directory(const Config& config) {
  return std::filesystem::path(config.results_dir) / "hpo" /
         config.hyperparameter_search.study_name;
}

std::string generate_token() {
  unsigned char bytes[16];
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  size_t got = 0;
  while (fd >= 0 && got < sizeof bytes) {
    const ssize_t n = ::read(fd, bytes + got, sizeof bytes - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (fd >= 0) ::close(fd);
  if (got != sizeof bytes) {
    throw Error(
        "cannot read 16 random bytes from /dev/urandom for the coordinator token; set "
        "hyperparameter_search.coordinator.token instead");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

CoordinatorOptions coordinator_options(const Config& config, const std::string& token) {
  const HyperparameterSearchConfig& h = config.hyperparameter_search;
  const CoordinatorConfig& c = h.coordinator;
  CoordinatorOptions o;
  o.host = c.host;
  if (c.port < 0 || c.port > 65535) {
    throw ConfigError("hyperparameter_search.coordinator.port " + std::to_string(c.port) +
                      " is not a TCP port; use 0 (any free port) .. 65535");
  }
  o.port = static_cast<uint16_t>(c.port);
  o.token = token;
  o.metric = h.optimize_metric;
  o.n_trials = h.n_trials;
  o.parallelism = h.parallel;
  o.lease = std::chrono::seconds(c.lease_seconds);
  o.heartbeat = std::chrono::seconds(c.heartbeat_seconds);
  o.idle_timeout = std::chrono::seconds(c.idle_timeout_seconds);
  o.hello_timeout = std::chrono::seconds(c.hello_timeout_seconds);
  o.max_attempts = c.max_attempts;
  o.max_connections = static_cast<size_t>(c.max_connections);
  o.max_message_bytes = static_cast<size_t>(c.max_message_bytes);
  if (c.heartbeat_seconds >= c.lease_seconds) {
    throw ConfigError("hyperparameter_search.coordinator.heartbeat_seconds (" +
                      std::to_string(c.heartbeat_seconds) + ") must be below lease_seconds (" +
                      std::to_string(c.lease_seconds) +
                      "), or every lease expires between heartbeats; a third of it is typical");
  }
  return o;
}

CoordinatorStudySummary run_coordinator_study(const CoordinatorStudyOptions& options) {
  const Config& config = options.config;
  const HyperparameterSearchConfig& h = config.hyperparameter_search;
  const SearchSpace space = SearchSpace::from_config(h);
  auto sampler = make_sampler(h);
  auto pruner = make_pruner(config, space.direction());
  const std::string token = h.coordinator.token.empty() ? generate_token() : h.coordinator.token;
  CoordinatorOptions coordinator_opts = coordinator_options(config, token);

  CoordinatorStudySummary summary;
  summary.study_name = h.study_name;
  summary.study_dir = study_directory(config);
  summary.storage_path =
      h.storage.empty() ? summary.study_dir / "study.db" : parse_storage_url(h.storage);
  ensure_directory(summary.study_dir);
  const StudyLock lock(summary.storage_path);  // before anything is read or written
  remove_stale_temp_files(summary.study_dir);
  remove_finished_marker(summary.study_dir);  // this coordinator will run it: not finished
  StudyStorage storage(summary.storage_path);
  if (const auto existing = storage.find_study(h.study_name); existing && !options.resume) {
    const size_t n = storage.trials(existing->id).size();
    if (n > 0) {
      throw UsageError("study '" + h.study_name + "' in " + summary.storage_path.string() +
                       " already has " + std::to_string(n) +
                       " trials; pass --resume to continue it, or set another "
                       "hyperparameter_search.study_name or storage");
    }
  }
  Study study(storage, h.study_name, space, std::move(sampler), std::move(pruner));
  // No worker holds a lease on a trial left RUNNING by an earlier coordinator: run it again.
  study.requeue_running("its coordinator stopped before the trial finished (re-run on resume)");
  for (const FrozenTrial& t : study.history().trials()) {
    if (t.state == TrialState::kStale) summary.requeued.push_back(t.number);
  }
  if (!summary.requeued.empty()) {
    spdlog::info("resuming study '{}': {} stale trial(s) run again first", h.study_name,
                 summary.requeued.size());
  }

  const auto write_outputs = [&] {
    summary.best = study.best_trial();
    write_study_outputs(summary.study_dir, study.record(), space, study.stored_trials());
    const std::filesystem::path best_config = summary.study_dir / "best_config.yaml";
    const std::filesystem::path metrics_file = summary.study_dir / "best_test_metrics.json";
    if (!summary.best) {
      std::filesystem::remove(best_config);
      std::filesystem::remove(metrics_file);
      summary.best_config_note = "no trial completed";
      return;
    }
    summary.best_config_note = best_config_blocker(space);
    if (summary.best_config_note.empty()) {
      write_resolved_config(config_with_params(config, space, summary.best->params), best_config);
      summary.best_config_written = true;
    } else {
      std::filesystem::remove(best_config);
    }
    const auto evaluation = storage.evaluation(study.record().id, summary.best->number);
    PIXELREC_CHECK(evaluation.has_value(), "the study finished before its best trial's evaluation");
    nlohmann::json out = {{"study", h.study_name},
                          {"trial", summary.best->number},
                          {"value", *summary.best->value},
                          {"worker", evaluation->worker}};
    if (evaluation->error.empty()) {
      summary.test_metrics = nlohmann::json::parse(evaluation->metrics_json);
      out["metrics"] = *summary.test_metrics;
    } else {
      summary.test_error = evaluation->error;
      out["error"] = evaluation->error;
    }
    write_file_atomic(metrics_file, out.dump(2) + "\n");
  };
  coordinator_opts.on_finished = [&] {
    try {
      write_outputs();
    } catch (const std::exception& e) {
      throw Error("study '" + h.study_name +
                  "' finished, but its outputs could not be written: " + e.what() +
                  "; fix that and run the coordinator again with --resume to write them");
    }
  };

  Coordinator coordinator(study, coordinator_opts);
  write_discovery(summary.study_dir, coordinator, token);
  if (options.on_listening) options.on_listening(coordinator.host(), coordinator.port());
  if (options.on_started) options.on_started(coordinator);
  const auto forget_discovery = [&] {  // nobody listens any more
    std::error_code ignored;
    std::filesystem::remove(summary.study_dir / "coordinator.json", ignored);
  };
  try {
    summary.stats = coordinator.run();
    // Before coordinator.json goes: a worker group polling for one of them always sees one.
    if (summary.stats.finished)
      write_finished_marker(
          summary.study_dir,
          {h.study_name, h.n_trials, int64_t(study.history().size()), utc_now_iso8601()});
  } catch (...) {
    forget_discovery();
    throw;
  }
  forget_discovery();
  for (const FrozenTrial& t : study.history().trials()) ++summary.counts[t.state];
  return summary;
}

}  // namespace pixelrec::hpo
