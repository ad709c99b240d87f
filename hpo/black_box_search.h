// The black-box search behind `pixelrec hpo run`: a space file, an objective command and a study
// in SQLite; runs trials (up to `parallel` objectives at once) until the study holds n_trials,
// resumes a study whose run died, and writes best_params.json, trials.csv, history.html and,
// when the parameters are config keys and a base config is given, best_config.yaml.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hpo/asha.h"
#include "hpo/median_pruner.h"
#include "hpo/objective_runner.h"
#include "hpo/storage.h"

namespace pixelrec::hpo {

struct BlackBoxOptions {
  std::filesystem::path space_file;  // {search_space: ..., direction: ...}
  std::string objective_cmd;         // run with sh -c per trial
  int64_t n_trials = 0;              // the study ends when it holds this many trials
  std::string sampler = "tpe";       // tpe | random
  std::string pruner = "none";       // asha | median | none
  uint64_t seed = 42;
  std::string study_name;              // empty: the space file's stem
  std::string storage_url;             // empty: sqlite:///<output_dir>/study.db
  std::filesystem::path output_dir;    // empty: hpo/<study_name>
  bool resume = false;                 // continue an existing study (re-running STALE trials)
  int parallel = 1;                    // objectives at once
  std::optional<Direction> direction;  // overrides the space file's
  AshaOptions asha;                    // max_resource must be set for pruner asha
  MedianOptions median;
  ObjectiveOptions objective;
  // Base configuration for best_config.yaml: --config files and --set overrides.
  std::vector<std::string> config_files;
  std::vector<std::string> config_overrides;
  bool config_strict = false;
};

struct BlackBoxSummary {
  std::string study_name;
  std::filesystem::path storage_path;
  std::filesystem::path output_dir;
  std::vector<int64_t> requeued;         // STALE trials of a dead run that were run again
  int64_t trials_run = 0;                // trials started by this call
  std::map<TrialState, int64_t> counts;  // over the whole study
  std::optional<FrozenTrial> best;
  bool best_config_written = false;
  std::string best_config_note;  // why best_config.yaml was skipped (empty when written)
};

// Validates the options (UsageError for bad flags, ConfigError for a bad space), runs the study
// and writes its outputs. A failed objective never stops the study.
BlackBoxSummary run_black_box_search(const BlackBoxOptions& options);

}  // namespace pixelrec::hpo
