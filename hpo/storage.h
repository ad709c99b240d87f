// Durable study storage: one SQLite database per study file (WAL journal, synchronous=FULL, every
// write in its own transaction) holding studies, trials and intermediate reports in arrival order,
// so a study killed at any point can be reopened and resumed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hpo/pruner.h"
#include "hpo/trial.h"

struct sqlite3;

namespace pixelrec::hpo {

// The schema this code writes; a database with a newer version is refused.
inline constexpr int kStorageSchemaVersion = 2;  // 2: evaluations.error

// "sqlite:///relative/study.db" → "relative/study.db", "sqlite:////abs/study.db" → "/abs/study.db"
// (SQLAlchemy's form, as Optuna). Throws UsageError for other schemes or an empty path.
std::filesystem::path parse_storage_url(const std::string& url);

// A trial row: the FrozenTrial plus bookkeeping.
struct StoredTrial {
  FrozenTrial trial;
  std::optional<double> started;   // unix seconds when the current attempt started
  std::optional<double> finished;  // unix seconds when it reached COMPLETE, PRUNED or FAILED
  std::string worker;              // who ran the current attempt ("host:pid")
  int64_t attempt = 0;             // 1 for the first run, +1 each time a STALE trial is re-run
  std::string message;             // why it FAILED (or was marked STALE)
};

// A message about a trial that arrived after the trial's lease was lost (a late report or finish
// from an attempt that was declared STALE): kept for the record, never applied to the trial.
struct LateMessage {
  int64_t seq = 0;
  int64_t trial = 0;
  int64_t attempt = 0;
  std::string message;  // the protocol message as JSON
  double received = 0;  // unix seconds
};

// The test metrics of a study's best trial (evaluated once, by one worker), or why that
// evaluation failed.
struct StoredEvaluation {
  int64_t trial = 0;
  std::string metrics_json;  // {"metric": value, ...}; empty when the evaluation failed
  std::string worker;
  double recorded = 0;  // unix seconds
  std::string error;    // the worker's error when the evaluation failed; empty otherwise
};

struct StudyRecord {
  int64_t id = 0;
  std::string name;
  Direction direction = Direction::kMaximize;
  std::string space_json;  // space_to_json(space).dump()
  std::string created;     // ISO 8601 UTC
};

// A report as stored: `seq` is its arrival position within the database.
struct StoredReport {
  int64_t seq = 0;
  Report report;
  int64_t attempt = 0;
};

class StudyStorage {
 public:
  // Opens (creating when missing) the database at `path` and its schema. Throws Error naming the
  // file when it cannot be opened or was written by a newer schema.
  explicit StudyStorage(const std::filesystem::path& path);
  // parse_storage_url(url), then the constructor above.
  static StudyStorage open_url(const std::string& url);
  ~StudyStorage();
  StudyStorage(StudyStorage&& other) noexcept;
  StudyStorage& operator=(StudyStorage&&) = delete;
  StudyStorage(const StudyStorage&) = delete;
  StudyStorage& operator=(const StudyStorage&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // The study called `name`, or nullopt.
  std::optional<StudyRecord> find_study(const std::string& name) const;
  // Creates the study, or returns the existing one. Throws Error naming the stored direction when
  // it differs from `direction`, and when the stored space differs from `space_json`.
  StudyRecord create_or_open_study(const std::string& name, Direction direction,
                                   const std::string& space_json);

  // Appends trial number max + 1 (0 for the first) in state RUNNING for `worker`, attempt 1.
  int64_t add_running_trial(int64_t study, const ParamMap& params, const std::string& worker,
                            double now);
  // A STALE trial starts again: RUNNING for `worker`, attempt + 1, start time `now`.
  void restart_trial(int64_t study, int64_t number, const std::string& worker, double now);
  // COMPLETE (with `value`), PRUNED or FAILED (with `message`), finish time `now`. Throws
  // InternalError unless the trial is RUNNING: a finished trial is never rewritten.
  void finish_trial(int64_t study, int64_t number, TrialState state, std::optional<double> value,
                    const std::string& message, double now);
  // Every RUNNING trial of the study becomes STALE with `message`; returns their numbers.
  std::vector<int64_t> mark_running_stale(int64_t study, const std::string& message);

  // RUNNING trial `number` becomes STALE with `message` (its worker lost the lease). Throws
  // InternalError unless the trial is RUNNING.
  void mark_trial_stale(int64_t study, int64_t number, const std::string& message);

  // Keeps a late message about `trial` (see LateMessage); returns its sequence number.
  int64_t add_late_message(int64_t study, int64_t trial, int64_t attempt,
                           const std::string& message, double now);
  std::vector<LateMessage> late_messages(int64_t study) const;  // in arrival order

  // Stores the test metrics of `trial` (or, with metrics_json empty, the `error` its evaluation
  // failed with); false (nothing written) when that trial already has an evaluation.
  bool add_evaluation(int64_t study, int64_t trial, const std::string& metrics_json,
                      const std::string& worker, double now, const std::string& error = "");
  // The stored evaluation of `trial`, or nullopt.
  std::optional<StoredEvaluation> evaluation(int64_t study, int64_t trial) const;

  // Appends a report; returns its arrival sequence number. NaN values are kept.
  int64_t add_report(int64_t study, const Report& report, int64_t attempt);

  std::vector<StoredTrial> trials(int64_t study) const;    // by number
  std::vector<StoredReport> reports(int64_t study) const;  // in arrival order
  // The trials with their intermediate values (later reports of a step replace earlier ones).
  TrialHistory history(int64_t study) const;

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

// Current time as unix seconds (wall clock; stored as started/finished).
double unix_now();

}  // namespace pixelrec::hpo
