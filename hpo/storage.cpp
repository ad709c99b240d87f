#include "hpo/storage.h"

#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <utility>

#include "core/errors.h"
#include "core/files.h"
#include "core/text_formats.h"
#include "hpo/storage_filesystem.h"

namespace pixelrec::hpo {

namespace {

constexpr int kBusyTimeoutMs = 30'000;

// The schema. Report values are REAL; SQLite stores NaN as NULL, so a NULL report value reads back
// as NaN (a report always has a value).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS studies (
  study_id  INTEGER PRIMARY KEY,
  name      TEXT NOT NULL UNIQUE,
  direction TEXT NOT NULL CHECK (direction IN ('minimize', 'maximize')),
  space     TEXT NOT NULL,
  created   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
  study_id INTEGER NOT NULL REFERENCES studies (study_id),
  number   INTEGER NOT NULL,
  state    TEXT NOT NULL
           CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAILED', 'STALE')),
  params   TEXT NOT NULL,
  value    REAL,
  started  REAL,
  finished REAL,
  worker   TEXT NOT NULL DEFAULT '',
  attempt  INTEGER NOT NULL DEFAULT 0,
  message  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (study_id, number)
);
CREATE TABLE IF NOT EXISTS reports (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  study_id INTEGER NOT NULL REFERENCES studies (study_id),
  trial    INTEGER NOT NULL,
  step     INTEGER NOT NULL,
  value    REAL,
  attempt  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_by_study ON reports (study_id, seq);
CREATE TABLE IF NOT EXISTS late_messages (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  study_id INTEGER NOT NULL REFERENCES studies (study_id),
  trial    INTEGER NOT NULL,
  attempt  INTEGER NOT NULL,
  message  TEXT NOT NULL,
  received REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
  study_id INTEGER NOT NULL REFERENCES studies (study_id),
  trial    INTEGER NOT NULL,
  metrics  TEXT NOT NULL,
  worker   TEXT NOT NULL DEFAULT '',
  recorded REAL NOT NULL,
  error    TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (study_id, trial)
);
)sql";

[[noreturn]] void fail(sqlite3* db, const std::filesystem::path& path, const std::string& what) {
  throw Error("study storage " + path.string() + ": " + what +
              " failed: " + (db ? sqlite3_errmsg(db) : "out of memory") +
              "; check that the file is a pixelrec study database on a writable local disk");
}

class Statement {
 public:
  Statement(sqlite3* db, const std::filesystem::path& path, const char* sql)
      : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail(db_, path_, sql);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& bind(int i, double v) { return check(sqlite3_bind_double(stmt_, i, v)); }
  Statement& bind(int i, const std::string& v) {
    return check(
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(int i, std::optional<double> v) {
    return v ? bind(i, *v) : check(sqlite3_bind_null(stmt_, i));
  }

  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) {
      sqlite3_reset(stmt_);  // not in progress any more: the transaction may commit
      return false;
    }
    fail(db_, path_, sqlite3_sql(stmt_));
  }
  void run() { step(); }
  // Ends a query read before its last row (a statement in progress blocks COMMIT).
  void reset() { sqlite3_reset(stmt_); }

  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::optional<double> real(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(stmt_, col);
  }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) fail(db_, path_, "binding a value");
    return *this;
  }

  sqlite3* db_;
  const std::filesystem::path& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const std::filesystem::path& path, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, path, sql);
}

// BEGIN IMMEDIATE takes the write lock up front (no deadlock between two writers upgrading);
// rolled back unless commit() is reached.
class Transaction {
 public:
  Transaction(sqlite3* db, const std::filesystem::path& path) : db_(db), path_(path) {
    exec(db_, path_, "BEGIN IMMEDIATE");
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    exec(db_, path_, "COMMIT");
    done_ = true;
  }

 private:
  sqlite3* db_;
  const std::filesystem::path& path_;
  bool done_ = false;
};

TrialState state_from_db(const std::string& text, const std::filesystem::path& path) {
  const auto state = parse_trial_state(text);
  if (!state)
    throw Error("study storage " + path.string() + ": unknown trial state '" + text + "'");
  return *state;
}

// Brings a database written by an older schema up to kStorageSchemaVersion (inside the opening
// transaction). Version 2 added evaluations.error.
void upgrade_schema(sqlite3* db, const std::filesystem::path& path, int from) {
  if (from < 2) exec(db, path, "ALTER TABLE evaluations ADD COLUMN error TEXT NOT NULL DEFAULT ''");
}

}  // namespace

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::filesystem::path parse_storage_url(const std::string& url) {
  constexpr std::string_view kScheme = "sqlite:///";
  if (url.rfind(kScheme, 0) != 0) {
    throw UsageError("unsupported storage URL '" + url +
                     "'; only SQLite is supported: use sqlite:///relative/path.db or "
                     "sqlite:////absolute/path.db");
  }
  const std::string path = url.substr(kScheme.size());
  if (path.empty()) {
    throw UsageError("storage URL '" + url + "' names no file; use sqlite:///study.db");
  }
  return path;
}

StudyStorage::StudyStorage(const std::filesystem::path& path) : path_(path) {
  ensure_parent_directory(path_);
  warn_if_shared_filesystem(path_);
  const int rc =
      sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string detail = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("cannot open study storage " + path_.string() + ": " + detail +
                "; check the path in --storage and that its folder is writable");
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  try {
    // WAL: readers never block the writer; FULL: every commit is fsynced (survives power loss).
    Statement wal(db_, path_, "PRAGMA journal_mode=WAL");
    if (!wal.step() || wal.text(0) != "wal") fail(db_, path_, "switching to WAL journal mode");
    wal.reset();
    exec(db_, path_, "PRAGMA synchronous=FULL");
    exec(db_, path_, "PRAGMA foreign_keys=ON");
    Transaction txn(db_, path_);
    exec(db_, path_, kSchema);
    Statement version(db_, path_, "SELECT MAX(version) FROM schema_version");
    version.step();
    const std::optional<double> stored = version.real(0);
    version.reset();
    if (!stored || *stored < kStorageSchemaVersion) {
      if (stored) upgrade_schema(db_, path_, static_cast<int>(*stored));
      Statement(db_, path_, "INSERT INTO schema_version (version) VALUES (?)")
          .bind(1, static_cast<int64_t>(kStorageSchemaVersion))
          .run();
    } else if (*stored > kStorageSchemaVersion) {
      throw Error("study storage " + path_.string() + " has schema version " +
                  std::to_string(static_cast<int64_t>(*stored)) + ", newer than this build's " +
                  std::to_string(kStorageSchemaVersion) +
                  "; open it with the pixelrec version that wrote it");
    }
    txn.commit();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

StudyStorage StudyStorage::open_url(const std::string& url) {
  return StudyStorage(parse_storage_url(url));
}

StudyStorage::~StudyStorage() {
  if (db_) sqlite3_close(db_);
}

StudyStorage::StudyStorage(StudyStorage&& other) noexcept
    : path_(std::move(other.path_)), db_(std::exchange(other.db_, nullptr)) {}

std::optional<StudyRecord> StudyStorage::find_study(const std::string& name) const {
  Statement q(db_, path_, "SELECT study_id, direction, space, created FROM studies WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  StudyRecord record;
  record.id = q.integer(0);
  record.name = name;
  record.direction = parse_direction(q.text(1), path_.string() + ": studies.direction");
  record.space_json = q.text(2);
  record.created = q.text(3);
  return record;
}

StudyRecord StudyStorage::create_or_open_study(const std::string& name, Direction direction,
                                               const std::string& space_json) {
  Transaction txn(db_, path_);
  if (auto existing = find_study(name)) {
    if (existing->direction != direction) {
      throw Error("study '" + name + "' in " + path_.string() + " was created to " +
                  std::string(to_string(existing->direction)) + ", not to " +
                  std::string(to_string(direction)) + "; pass --direction " +
                  std::string(to_string(existing->direction)) + " or choose another --study-name");
    }
    if (existing->space_json != space_json) {
      throw Error("study '" + name + "' in " + path_.string() +
                  " was created with a different search space; its trials would not fit this "
                  "one: use the original space file or choose another --study-name");
    }
    return *existing;
  }
  StudyRecord record{0, name, direction, space_json, utc_now_iso8601()};
  Statement insert(db_, path_,
                   "INSERT INTO studies (name, direction, space, created) VALUES (?, ?, ?, ?)");
  insert.bind(1, name).bind(2, std::string(to_string(direction))).bind(3, space_json);
  insert.bind(4, record.created).run();
  record.id = sqlite3_last_insert_rowid(db_);
  txn.commit();
  return record;
}

int64_t StudyStorage::add_running_trial(int64_t study, const ParamMap& params,
                                        const std::string& worker, double now) {
  Transaction txn(db_, path_);
  Statement next(db_, path_, "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?");
  next.bind(1, study).step();
  const int64_t number = next.integer(0);
  next.reset();
  Statement insert(db_, path_,
                   "INSERT INTO trials (study_id, number, state, params, started, worker, attempt) "
                   "VALUES (?, ?, 'RUNNING', ?, ?, ?, 1)");
  insert.bind(1, study).bind(2, number).bind(3, params_to_json(params).dump());
  insert.bind(4, now).bind(5, worker).run();
  txn.commit();
  return number;
}

void StudyStorage::restart_trial(int64_t study, int64_t number, const std::string& worker,
                                 double now) {
  Transaction txn(db_, path_);
  Statement update(db_, path_,
                   "UPDATE trials SET state = 'RUNNING', worker = ?, started = ?, finished = NULL, "
                   "attempt = attempt + 1 WHERE study_id = ? AND number = ? AND state = 'STALE'");
  update.bind(1, worker).bind(2, now).bind(3, study).bind(4, number).run();
  PIXELREC_CHECK(sqlite3_changes(db_) == 1,
                 "trial " + std::to_string(number) + " is not STALE and cannot be restarted");
  txn.commit();
}

void StudyStorage::finish_trial(int64_t study, int64_t number, TrialState state,
                                std::optional<double> value, const std::string& message,
                                double now) {
  PIXELREC_CHECK(state == TrialState::kComplete || state == TrialState::kPruned ||
                     state == TrialState::kFailed,
                 "a trial finishes as COMPLETE, PRUNED or FAILED");
  PIXELREC_CHECK(state != TrialState::kComplete || (value && !std::isnan(*value)),
                 "a COMPLETE trial needs a value");
  Transaction txn(db_, path_);
  Statement update(db_, path_,
                   "UPDATE trials SET state = ?, value = ?, message = ?, finished = ? "
                   "WHERE study_id = ? AND number = ? AND state = 'RUNNING'");
  update.bind(1, std::string(to_string(state))).bind(2, value).bind(3, message);
  update.bind(4, now).bind(5, study).bind(6, number).run();
  PIXELREC_CHECK(sqlite3_changes(db_) == 1,
                 "trial " + std::to_string(number) + " is not RUNNING and cannot finish");
  txn.commit();
}

std::vector<int64_t> StudyStorage::mark_running_stale(int64_t study, const std::string& message) {
  Transaction txn(db_, path_);
  std::vector<int64_t> numbers;
  Statement q(db_, path_,
              "SELECT number FROM trials WHERE study_id = ? AND state = 'RUNNING' ORDER BY number");
  q.bind(1, study);
  while (q.step()) numbers.push_back(q.integer(0));
  Statement update(db_, path_,
                   "UPDATE trials SET state = 'STALE', message = ? "
                   "WHERE study_id = ? AND state = 'RUNNING'");
  update.bind(1, message).bind(2, study).run();
  txn.commit();
  return numbers;
}

void StudyStorage::mark_trial_stale(int64_t study, int64_t number, const std::string& message) {
  Transaction txn(db_, path_);
  Statement update(db_, path_,
                   "UPDATE trials SET state = 'STALE', message = ? "
                   "WHERE study_id = ? AND number = ? AND state = 'RUNNING'");
  update.bind(1, message).bind(2, study).bind(3, number).run();
  PIXELREC_CHECK(sqlite3_changes(db_) == 1,
                 "trial " + std::to_string(number) + " is not RUNNING and cannot become STALE");
  txn.commit();
}

int64_t StudyStorage::add_late_message(int64_t study, int64_t trial, int64_t attempt,
                                       const std::string& message, double now) {
  Transaction txn(db_, path_);
  Statement insert(db_, path_,
                   "INSERT INTO late_messages (study_id, trial, attempt, message, received) "
                   "VALUES (?, ?, ?, ?, ?)");
  insert.bind(1, study).bind(2, trial).bind(3, attempt).bind(4, message).bind(5, now).run();
  const int64_t seq = sqlite3_last_insert_rowid(db_);
  txn.commit();
  return seq;
}

std::vector<LateMessage> StudyStorage::late_messages(int64_t study) const {
  Statement q(db_, path_,
              "SELECT seq, trial, attempt, message, received FROM late_messages "
              "WHERE study_id = ? ORDER BY seq");
  q.bind(1, study);
  std::vector<LateMessage> out;
  while (q.step()) {
    out.push_back({q.integer(0), q.integer(1), q.integer(2), q.text(3), q.real(4).value_or(0)});
  }
  return out;
}

bool StudyStorage::add_evaluation(int64_t study, int64_t trial, const std::string& metrics_json,
                                  const std::string& worker, double now, const std::string& error) {
  Transaction txn(db_, path_);
  Statement insert(db_, path_,
                   "INSERT OR IGNORE INTO evaluations "
                   "(study_id, trial, metrics, worker, recorded, error) VALUES (?, ?, ?, ?, ?, ?)");
  insert.bind(1, study).bind(2, trial).bind(3, metrics_json).bind(4, worker).bind(5, now);
  insert.bind(6, error).run();
  const bool inserted = sqlite3_changes(db_) == 1;
  txn.commit();
  return inserted;
}

std::optional<StoredEvaluation> StudyStorage::evaluation(int64_t study, int64_t trial) const {
  Statement q(db_, path_,
              "SELECT metrics, worker, recorded, error FROM evaluations "
              "WHERE study_id = ? AND trial = ?");
  q.bind(1, study).bind(2, trial);
  if (!q.step()) return std::nullopt;
  StoredEvaluation e{trial, q.text(0), q.text(1), q.real(2).value_or(0), q.text(3)};
  q.reset();
  return e;
}

int64_t StudyStorage::add_report(int64_t study, const Report& report, int64_t attempt) {
  Transaction txn(db_, path_);
  Statement insert(db_, path_,
                   "INSERT INTO reports (study_id, trial, step, value, attempt) "
                   "VALUES (?, ?, ?, ?, ?)");
  insert.bind(1, study).bind(2, report.trial).bind(3, report.step).bind(4, report.value);
  insert.bind(5, attempt).run();
  const int64_t seq = sqlite3_last_insert_rowid(db_);
  txn.commit();
  return seq;
}

std::vector<StoredTrial> StudyStorage::trials(int64_t study) const {
  Statement q(db_, path_,
              "SELECT number, state, params, value, started, finished, worker, attempt, message "
              "FROM trials WHERE study_id = ? ORDER BY number");
  q.bind(1, study);
  std::vector<StoredTrial> out;
  while (q.step()) {
    StoredTrial t;
    t.trial.number = q.integer(0);
    t.trial.state = state_from_db(q.text(1), path_);
    t.trial.params = params_from_json(nlohmann::json::parse(q.text(2)));
    if (t.trial.state == TrialState::kComplete) t.trial.value = q.real(3);
    t.started = q.real(4);
    t.finished = q.real(5);
    t.worker = q.text(6);
    t.attempt = q.integer(7);
    t.message = q.text(8);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<StoredReport> StudyStorage::reports(int64_t study) const {
  Statement q(db_, path_,
              "SELECT seq, trial, step, value, attempt FROM reports WHERE study_id = ? "
              "ORDER BY seq");
  q.bind(1, study);
  std::vector<StoredReport> out;
  while (q.step()) {
    StoredReport r;
    r.seq = q.integer(0);
    r.report.trial = q.integer(1);
    r.report.step = q.integer(2);
    r.report.value = q.real(3).value_or(std::numeric_limits<double>::quiet_NaN());
    r.attempt = q.integer(4);
    out.push_back(r);
  }
  return out;
}

TrialHistory StudyStorage::history(int64_t study) const {
  TrialHistory history;
  for (StoredTrial& t : trials(study)) history.restore(std::move(t.trial));
  for (const StoredReport& r : reports(study)) {
    history.at(r.report.trial).intermediate_values[r.report.step] = r.report.value;
  }
  return history;
}

}  // namespace pixelrec::hpo
