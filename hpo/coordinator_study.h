// What `pixelrec hpo coordinator` does: opens (or resumes) the study of the config's
// hyperparameter_search section in <results_dir>/hpo/<study_name>/, writes the discovery files
// (coordinator.json, coordinator.token), serves worker groups until every trial is terminal and
// the best trial's test metrics are in, then writes the study outputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "hpo/coordinator.h"

namespace pixelrec::hpo {

struct CoordinatorStudyOptions {
  Config config;        // the resolved configuration (also the base of best_config.yaml)
  bool resume = false;  // continue an existing study; RUNNING trials become STALE and run again
  // Called once listening, before any worker is served (the CLI prints "listening on ...").
  std::function<void(const std::string& host, uint16_t port)> on_listening;
  // Receives the coordinator once it listens (e.g. to stop() it from a signal handler thread).
  std::function<void(Coordinator&)> on_started;
};

struct CoordinatorStudySummary {
  std::string study_name;
  std::filesystem::path study_dir;
  std::filesystem::path storage_path;
  std::vector<int64_t> requeued;         // RUNNING trials of a dead coordinator, run again
  std::map<TrialState, int64_t> counts;  // over the whole study
  std::optional<FrozenTrial> best;
  std::optional<nlohmann::json> test_metrics;  // of the best trial
  std::string test_error;  // why the best trial's test evaluation failed (then no test_metrics)
  bool best_config_written = false;
  std::string best_config_note;  // why best_config.yaml was skipped (empty when written)
  CoordinatorStats stats;
};

// <results_dir>/hpo/<study_name>.
std::filesystem::path study_directory(const Config& config);

// 128 random bits from /dev/urandom as 32 hex digits. Throws Error when it cannot be read.
std::string generate_token();

// The coordinator options of `config` (hyperparameter_search.coordinator.*, n_trials, parallel,
// optimize_metric) with `token`.
CoordinatorOptions coordinator_options(const Config& config, const std::string& token);

// Runs the study (see the header comment). Throws UsageError when the study already has trials
// and resume is false, ConfigError for a bad search space or pruner settings, Error naming the
// file when an output cannot be written (the study itself is stored: --resume writes them).
CoordinatorStudySummary run_coordinator_study(const CoordinatorStudyOptions& options);

}  // namespace pixelrec::hpo
