// SQLite study storage: URL parsing, WAL mode, a full round trip through a reopened database,
// reports kept in arrival order (NaN included), and the checks that keep a study consistent.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/errors.h"
#include "hpo/storage.h"
#include "support/test_support.h"

namespace pixelrec::hpo {
namespace {

using test::ScratchDir;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(HpoStorage, ParsesSqliteUrlsAndRejectsOtherSchemes) {
  EXPECT_EQ(parse_storage_url("sqlite:///study.db"), std::filesystem::path("study.db"));
  EXPECT_EQ(parse_storage_url("sqlite:////tmp/x/study.db"),
            std::filesystem::path("/tmp/x/study.db"));
  EXPECT_THROW(parse_storage_url("postgresql://host/db"), UsageError);
  EXPECT_NE(error_of([] { parse_storage_url("mysql://h/db"); }).find("sqlite:///"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_storage_url("sqlite:///"); }).find("names no file"),
            std::string::npos);
}

TEST(HpoStorage, RoundTripThroughAReopenedDatabaseInWalMode) {
  ScratchDir dir("hpo_storage");
  const auto db = dir / "sub/study.db";
  int64_t id = 0;
  {
    StudyStorage storage(db);
    const StudyRecord study = storage.create_or_open_study("s", Direction::kMinimize, "{\"a\":1}");
    id = study.id;
    EXPECT_EQ(study.name, "s");
    EXPECT_EQ(study.created.size(), 20u);  // 2024-01-02T03:04:05Z
    EXPECT_EQ(
        storage.add_running_trial(id, {{"x", 0.25}, {"opt", std::string("sgd")}}, "h:1", 10.0), 0);
    EXPECT_EQ(storage.add_running_trial(id, {{"x", int64_t{7}}}, "h:2", 11.0), 1);
    EXPECT_EQ(storage.add_running_trial(id, {{"x", true}}, "h:2", 12.0), 2);
    storage.add_report(id, {0, 1, 0.5}, 1);
    storage.add_report(id, {0, 2, 0.4}, 1);
    storage.finish_trial(id, 0, TrialState::kComplete, 0.125, "", 20.5);
    storage.finish_trial(id, 1, TrialState::kFailed, std::nullopt, "exit 3", 21.0);
    // WAL mode: the write-ahead log sits beside the database while it is open.
    EXPECT_TRUE(std::filesystem::exists(dir / "sub/study.db-wal"));
  }
  StudyStorage reopened(db);
  const auto study = reopened.find_study("s");
  ASSERT_TRUE(study.has_value());
  EXPECT_EQ(study->id, id);
  EXPECT_EQ(study->direction, Direction::kMinimize);
  EXPECT_EQ(study->space_json, "{\"a\":1}");
  EXPECT_FALSE(reopened.find_study("other").has_value());

  const std::vector<StoredTrial> trials = reopened.trials(id);
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].trial.state, TrialState::kComplete);
  EXPECT_EQ(trials[0].trial.value, 0.125);
  EXPECT_EQ(trials[0].trial.params, (ParamMap{{"x", 0.25}, {"opt", std::string("sgd")}}));
  EXPECT_EQ(trials[0].started, 10.0);
  EXPECT_EQ(trials[0].finished, 20.5);
  EXPECT_EQ(trials[0].worker, "h:1");
  EXPECT_EQ(trials[0].attempt, 1);
  EXPECT_EQ(trials[1].trial.state, TrialState::kFailed);
  EXPECT_FALSE(trials[1].trial.value.has_value());
  EXPECT_EQ(trials[1].message, "exit 3");
  EXPECT_EQ(trials[1].trial.params, (ParamMap{{"x", int64_t{7}}}));
  EXPECT_EQ(trials[2].trial.state, TrialState::kRunning);
  EXPECT_EQ(trials[2].trial.params, (ParamMap{{"x", true}}));

  const TrialHistory history = reopened.history(id);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history.at(0).intermediate_values, (std::map<int64_t, double>{{1, 0.5}, {2, 0.4}}));
  EXPECT_TRUE(history.at(1).intermediate_values.empty());
}

TEST(HpoStorage, ReportsKeepArrivalOrderAndNan) {
  ScratchDir dir("hpo_storage");
  StudyStorage storage(dir / "study.db");
  const int64_t id = storage.create_or_open_study("s", Direction::kMaximize, "{}").id;
  for (int i = 0; i < 3; ++i) storage.add_running_trial(id, {}, "w", 0.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Interleaved trials, steps out of order, a repeated step: arrival order is what counts.
  const std::vector<Report> sent = {{2, 3, 0.1}, {0, 1, 0.2}, {1, 9, nan},
                                    {0, 1, 0.3}, {2, 1, 0.4}, {1, 2, -1.0}};
  std::vector<int64_t> seqs;
  for (const Report& r : sent) seqs.push_back(storage.add_report(id, r, 1));
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_GT(seqs[i], seqs[i - 1]);
  const std::vector<StoredReport> stored = storage.reports(id);
  ASSERT_EQ(stored.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(stored[i].seq, seqs[i]);
    EXPECT_EQ(stored[i].report.trial, sent[i].trial);
    EXPECT_EQ(stored[i].report.step, sent[i].step);
    if (std::isnan(sent[i].value)) {
      EXPECT_TRUE(std::isnan(stored[i].report.value));
    } else {
      EXPECT_EQ(stored[i].report.value, sent[i].value);
    }
  }
  // The later report of a step wins in the history.
  EXPECT_EQ(storage.history(id).at(0).intermediate_values.at(1), 0.3);
}

TEST(HpoStorage, ReopeningWithAnotherDirectionOrSpaceNamesTheStoredOne) {
  ScratchDir dir("hpo_storage");
  StudyStorage storage(dir / "study.db");
  storage.create_or_open_study("s", Direction::kMinimize, "{\"p\":1}");
  const std::string direction =
      error_of([&] { storage.create_or_open_study("s", Direction::kMaximize, "{\"p\":1}"); });
  EXPECT_NE(direction.find("was created to minimize, not to maximize"), std::string::npos)
      << direction;
  EXPECT_NE(direction.find("--direction minimize"), std::string::npos);
  const std::string space =
      error_of([&] { storage.create_or_open_study("s", Direction::kMinimize, "{\"p\":2}"); });
  EXPECT_NE(space.find("different search space"), std::string::npos) << space;
  EXPECT_EQ(storage.create_or_open_study("s", Direction::kMinimize, "{\"p\":1}").name, "s");
}

TEST(HpoStorage, FinishedTrialsAreNeverRewrittenAndStaleOnesRestart) {
  ScratchDir dir("hpo_storage");
  StudyStorage storage(dir / "study.db");
  const int64_t id = storage.create_or_open_study("s", Direction::kMinimize, "{}").id;
  storage.add_running_trial(id, {}, "a:1", 1.0);
  storage.add_running_trial(id, {}, "a:1", 2.0);
  storage.finish_trial(id, 0, TrialState::kPruned, std::nullopt, "pruned at step 1", 3.0);
  EXPECT_THROW(storage.finish_trial(id, 0, TrialState::kComplete, 1.0, "", 4.0), InternalError);
  EXPECT_THROW(storage.restart_trial(id, 1, "b:2", 5.0), InternalError);  // RUNNING, not STALE
  EXPECT_EQ(storage.mark_running_stale(id, "dead"), (std::vector<int64_t>{1}));
  EXPECT_EQ(storage.trials(id)[1].trial.state, TrialState::kStale);
  EXPECT_EQ(storage.trials(id)[1].message, "dead");
  storage.restart_trial(id, 1, "b:2", 6.0);
  const StoredTrial restarted = storage.trials(id)[1];
  EXPECT_EQ(restarted.trial.state, TrialState::kRunning);
  EXPECT_EQ(restarted.attempt, 2);
  EXPECT_EQ(restarted.worker, "b:2");
  EXPECT_EQ(restarted.started, 6.0);
  EXPECT_EQ(storage.trials(id)[0].trial.state, TrialState::kPruned);
}

TEST(HpoStorage, RefusesADatabaseFromANewerSchema) {
  ScratchDir dir("hpo_storage");
  const auto db = dir / "study.db";
  { StudyStorage storage(db); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  const std::string message = error_of([&] { StudyStorage storage(db); });
  EXPECT_NE(message.find("schema version 99, newer than this build's 2"), std::string::npos)
      << message;
}

// A study written before evaluations had an error column (schema 1) opens, gains the column,
// keeps its evaluation, and stores a failed one as an error.
TEST(HpoStorage, UpgradesASchemaOneDatabaseAndKeepsItsEvaluations) {
  ScratchDir dir("hpo_storage_v1");
  const auto db = dir / "study.db";
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  const char* v1 = R"sql(
    CREATE TABLE schema_version (version INTEGER NOT NULL);
    INSERT INTO schema_version VALUES (1);
    CREATE TABLE studies (study_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
      direction TEXT NOT NULL, space TEXT NOT NULL, created TEXT NOT NULL);
    INSERT INTO studies VALUES (1, 'old', 'minimize', '[]', '2026-01-01T00:00:00Z');
    CREATE TABLE evaluations (study_id INTEGER NOT NULL REFERENCES studies (study_id),
      trial INTEGER NOT NULL, metrics TEXT NOT NULL, worker TEXT NOT NULL DEFAULT '',
      recorded REAL NOT NULL, PRIMARY KEY (study_id, trial));
    INSERT INTO evaluations VALUES (1, 3, '{"ndcg@10":0.5}', 'w:1', 10.0);
  )sql";
  ASSERT_EQ(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
  sqlite3_close(raw);

  StudyStorage storage(db);
  const auto kept = storage.evaluation(1, 3);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->metrics_json, R"({"ndcg@10":0.5})");
  EXPECT_EQ(kept->error, "");
  EXPECT_TRUE(storage.add_evaluation(1, 4, "", "w:2", 11.0, "checkpoint missing"));
  EXPECT_EQ(storage.evaluation(1, 4)->error, "checkpoint missing");
  EXPECT_EQ(storage.evaluation(1, 4)->metrics_json, "");
  StudyStorage reopened(db);  // already version 2: opens without upgrading again
  EXPECT_EQ(reopened.evaluation(1, 4)->error, "checkpoint missing");
}

TEST(HpoStorage, UnopenableFileNamesThePath) {
  ScratchDir dir("hpo_storage");
  test::write_text(dir / "not_a_db", std::string(4096, 'x'));
  const std::string message = error_of([&] { StudyStorage storage(dir / "not_a_db"); });
  EXPECT_NE(message.find("not_a_db"), std::string::npos) << message;
}

}  // namespace
}  // namespace pixelrec::hpo
