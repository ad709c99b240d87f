// Leases belong to the connection and the attempt that hold them (docs/hpo.md, "Leases"):
// another connection with the same token cannot report, finish, release, heartbeat or evaluate a
// trial it did not lease, unless it proves the lease with the lease_key of the trial reply (a
// worker that reconnected); a message for an attempt whose lease was lost is answered cancel {code
// stale_attempt} and changes nothing; a sweep whose SQLite write fails keeps the lease and
// requeues the trial once the write succeeds.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "hpo/storage.h"
#include "support/test_support.h"
#include "unit/hpo_coordinator_fixture.h"

namespace pixelrec::hpo {
namespace {

using namespace coordinator_test;
using test::ScratchDir;
namespace fs = std::filesystem;

// Asks for a lease until the answer is not `wait` (5 s at most).
json lease_until_given(RawClient& client) {
  json reply = client.ask(msg("lease"));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (reply["type"] == "wait" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    reply = client.ask(msg("lease"));
  }
  return reply;
}

json report(int64_t attempt, int64_t step, double value) {
  return msg("report", {{"trial", 0}, {"attempt", attempt}, {"step", step}, {"value", value}});
}

json complete(int64_t attempt, double value) {
  return msg("finish",
             {{"trial", 0}, {"attempt", attempt}, {"state", "complete"}, {"value", value}});
}

json with_key(json message, const json& key) {
  message["lease_key"] = key;
  return message;
}

bool contains(const json& reply, const std::string& text) {
  return reply.value("message", std::string()).find(text) != std::string::npos;
}

TEST(HpoCoordinatorLeases, AnotherConnectionCannotReportFinishOrHeartbeatATrialItDidNotLease) {
  ScratchDir dir("hpo_lease_owner");
  StudyStorage storage(dir / "study.db");
  Served served(storage, options(1));
  RawClient owner(served.coordinator.port()), intruder(served.coordinator.port());
  owner.hello(kToken, "owner:1");
  intruder.hello(kToken, "intruder:2");  // same token: authenticated, but holds no lease
  const json trial = lease_until_given(owner);
  ASSERT_EQ(trial["type"], "trial");
  EXPECT_EQ(trial["lease_key"].get<std::string>().size(), 32u);

  json reply = intruder.ask(report(1, 1, -100.0));
  EXPECT_EQ(reply["type"], "error");
  EXPECT_EQ(reply["code"], "not_leaseholder");
  EXPECT_TRUE(
      contains(reply, "trial 0 attempt 1 is leased to worker owner:1 on another connection"))
      << reply.dump();
  EXPECT_EQ(intruder.ask(complete(1, -100.0))["code"], "not_leaseholder");
  EXPECT_EQ(intruder.ask(with_key(complete(1, -100.0), std::string(32, '0')))["code"],
            "not_leaseholder");  // a guessed key proves nothing
  EXPECT_EQ(intruder.ask(msg("heartbeat", {{"trial", 0}}))["type"], "cancel");  // renews nothing
  EXPECT_TRUE(storage.reports(served.study.record().id).empty());
  EXPECT_EQ(served.study.history().at(0).state, TrialState::kRunning);

  // The owner is served throughout; its value is the trial's.
  EXPECT_EQ(owner.ask(report(1, 1, 2.5))["type"], "continue");
  EXPECT_EQ(owner.ask(msg("heartbeat", {{"trial", 0}}))["type"], "ok");
  EXPECT_EQ(owner.ask(complete(1, 2.5))["type"], "ok");
  served.stop();
  const StoredTrial done = served.study.stored_trials()[0];
  EXPECT_EQ(done.trial.state, TrialState::kComplete);
  EXPECT_DOUBLE_EQ(*done.trial.value, 2.5);
  EXPECT_EQ(done.worker, "owner:1");
  EXPECT_EQ(storage.reports(served.study.record().id).size(), 1u);
  EXPECT_EQ(served.stats.rejected.at("not_leaseholder"), 3);
  EXPECT_EQ(served.stats.late_messages, 0);  // foreign messages are not kept
}

// A release is checked against the lease like a finish: only its holder (its connection, or its
// lease_key from a new one) requeues the trial; a stale attempt's release is kept, not applied.
TEST(HpoCoordinatorLeases, OnlyTheLeaseholderCanReleaseATrial) {
  ScratchDir dir("hpo_lease_release");
  StudyStorage storage(dir / "study.db");
  Served served(storage, options(1));
  RawClient owner(served.coordinator.port()), intruder(served.coordinator.port());
  owner.hello(kToken, "owner:1");
  intruder.hello(kToken, "intruder:2");
  const json trial = lease_until_given(owner);
  ASSERT_EQ(trial["type"], "trial");
  const json release = msg("release", {{"trial", 0}, {"attempt", 1}, {"message", "pre-empted"}});

  EXPECT_EQ(intruder.ask(release)["code"], "not_leaseholder");
  EXPECT_EQ(intruder.ask(with_key(release, std::string(32, '0')))["code"], "not_leaseholder");
  EXPECT_EQ(served.study.history().at(0).state, TrialState::kRunning);  // not requeued

  // The holder's key proves the lease from any connection (a worker that reconnected).
  RawClient reconnected(served.coordinator.port());
  reconnected.hello(kToken, "owner:1");
  EXPECT_EQ(reconnected.ask(with_key(release, trial["lease_key"]))["type"], "ok");
  EXPECT_EQ(served.study.history().at(0).state, TrialState::kStale);

  // Released: attempt 1 holds no lease any more; its release again is late.
  const json stale = owner.ask(release);
  EXPECT_EQ(stale["type"], "cancel");
  EXPECT_EQ(stale["code"], "stale_attempt");
  const json again = lease_until_given(intruder);
  EXPECT_EQ(again["attempt"], 2);
  served.stop();
  EXPECT_EQ(served.stats.released_leases, 1);
  EXPECT_EQ(served.stats.rejected.at("not_leaseholder"), 2);
  EXPECT_EQ(storage.late_messages(served.study.record().id).size(), 1u);
}

TEST(HpoCoordinatorLeases, AReconnectingWorkerResumesItsTrialWithTheLeaseKey) {
  ScratchDir dir("hpo_lease_key");
  StudyStorage storage(dir / "study.db");
  Served served(storage, options(1));
  json key;
  {
    RawClient first(served.coordinator.port());
    first.hello(kToken, "w:1");
    const json trial = lease_until_given(first);
    ASSERT_EQ(trial["type"], "trial");
    key = trial["lease_key"];
    EXPECT_EQ(first.ask(report(1, 1, 4.0))["type"], "continue");
  }  // the connection drops mid-trial; the lease stays until it expires
  RawClient again(served.coordinator.port());
  again.hello(kToken, "w:1");
  EXPECT_EQ(again.ask(report(1, 2, 3.0))["code"], "not_leaseholder");  // no proof
  EXPECT_EQ(again.ask(with_key(report(1, 2, 3.0), key))["type"], "continue");
  // The lease moved to this connection: no key needed any more.
  EXPECT_EQ(again.ask(msg("heartbeat", {{"trial", 0}}))["type"], "ok");
  EXPECT_EQ(again.ask(complete(1, 3.0))["type"], "ok");
  served.stop();
  const StoredTrial done = served.study.stored_trials()[0];
  EXPECT_EQ(done.trial.state, TrialState::kComplete);
  EXPECT_EQ(done.attempt, 1);  // never requeued
  EXPECT_EQ(storage.reports(served.study.record().id).size(), 2u);
  EXPECT_EQ(served.stats.expired_leases, 0);
}

TEST(HpoCoordinatorLeases, AMessageForAStaleAttemptIsRejectedAndChangesNothing) {
  ScratchDir dir("hpo_lease_stale");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(1);
  o.lease = 2s;  // b's lease must outlive a's messages even on a loaded disk
  Served served(storage, o);
  RawClient a(served.coordinator.port()), b(served.coordinator.port());
  a.hello(kToken, "a:1");
  b.hello(kToken, "b:2");
  ASSERT_EQ(lease_until_given(a)["attempt"], 1);
  const json second = lease_until_given(b);  // once a's lease expired
  ASSERT_EQ(second["type"], "trial");
  ASSERT_EQ(second["attempt"], 2);

  // a wakes up: its attempt lost the lease.
  json reply = a.ask(report(1, 1, 7.0));
  EXPECT_EQ(reply["type"], "cancel");
  EXPECT_EQ(reply["code"], "stale_attempt");
  EXPECT_TRUE(contains(reply, "trial 0 attempt 1 lost its lease")) << reply.dump();
  EXPECT_TRUE(contains(reply, "now runs as attempt 2 on worker b:2")) << reply.dump();
  reply = a.ask(complete(1, 100.0));
  EXPECT_EQ(reply["type"], "cancel");
  EXPECT_EQ(reply["code"], "stale_attempt");
  // The current attempt is b's, and attempt 3 was never handed out.
  EXPECT_EQ(a.ask(report(2, 1, 7.0))["code"], "not_leaseholder");
  reply = a.ask(report(3, 1, 7.0));
  EXPECT_EQ(reply["code"], "not_leaseholder");
  EXPECT_TRUE(contains(reply, "attempt 3 of trial 0 was never handed out")) << reply.dump();
  const StoredTrial running = served.study.stored_trials()[0];
  EXPECT_EQ(running.trial.state, TrialState::kRunning);
  EXPECT_EQ(running.attempt, 2);
  EXPECT_EQ(running.worker, "b:2");
  EXPECT_TRUE(storage.reports(served.study.record().id).empty());

  EXPECT_EQ(b.ask(report(2, 1, 1.5))["type"], "continue");
  EXPECT_EQ(b.ask(complete(2, 1.5))["type"], "ok");
  reply = a.ask(complete(1, 100.0));  // after the trial ended
  EXPECT_EQ(reply["code"], "stale_attempt");
  EXPECT_TRUE(contains(reply, "the trial is already COMPLETE")) << reply.dump();
  served.stop();
  const StoredTrial done = served.study.stored_trials()[0];
  EXPECT_EQ(done.trial.state, TrialState::kComplete);
  EXPECT_DOUBLE_EQ(*done.trial.value, 1.5);
  EXPECT_EQ(storage.late_messages(served.study.record().id).size(), 3u);
  EXPECT_EQ(served.stats.late_messages, 3);
}

TEST(HpoCoordinatorLeases, OnlyTheEvaluatorCanSendTheEvaluation) {
  ScratchDir dir("hpo_lease_eval");
  StudyStorage storage(dir / "study.db");
  Served served(storage, options(1));
  RawClient worker(served.coordinator.port()), intruder(served.coordinator.port());
  worker.hello(kToken, "w:1");
  intruder.hello(kToken, "x:9");
  ASSERT_EQ(lease_until_given(worker)["type"], "trial");
  ASSERT_EQ(worker.ask(complete(1, 1.0))["type"], "ok");
  const json evaluate = worker.ask(msg("lease"));
  ASSERT_EQ(evaluate["type"], "evaluate");
  EXPECT_EQ(evaluate["lease_key"].get<std::string>().size(), 32u);

  const json forged = msg("evaluation", {{"trial", 0}, {"metrics", {{"ndcg@10", 0.99}}}});
  EXPECT_EQ(intruder.ask(forged)["code"], "not_leaseholder");
  EXPECT_FALSE(storage.evaluation(served.study.record().id, 0).has_value());
  EXPECT_EQ(worker.ask(msg("evaluation", {{"trial", 0}, {"metrics", {{"ndcg@10", 0.3}}}}))["type"],
            "ok");
  served.join();
  const auto stored = storage.evaluation(served.study.record().id, 0);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(json::parse(stored->metrics_json), json({{"ndcg@10", 0.3}}));
  EXPECT_EQ(stored->worker, "w:1");
}

TEST(HpoCoordinatorLeases, AnEvaluationWhoseLeaseExpiredIsRecordedNotApplied) {
  ScratchDir dir("hpo_lease_eval_late");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(1);
  o.lease = 1s;
  Served served(storage, o);
  RawClient slow(served.coordinator.port()), next(served.coordinator.port());
  slow.hello(kToken, "slow:1");
  next.hello(kToken, "next:2");
  ASSERT_EQ(lease_until_given(slow)["type"], "trial");
  ASSERT_EQ(slow.ask(complete(1, 1.0))["type"], "ok");
  ASSERT_EQ(slow.ask(msg("lease"))["type"], "evaluate");
  ASSERT_EQ(lease_until_given(next)["type"], "evaluate");  // slow's evaluation lease expired

  const json late = slow.ask(msg("evaluation", {{"trial", 0}, {"metrics", {{"ndcg@10", 0.9}}}}));
  EXPECT_EQ(late["type"], "cancel");
  EXPECT_EQ(late["code"], "stale_attempt");
  EXPECT_TRUE(contains(late, "evaluation of trial 0 lost its lease")) << late.dump();
  EXPECT_EQ(next.ask(msg("evaluation", {{"trial", 0}, {"metrics", {{"ndcg@10", 0.3}}}}))["type"],
            "ok");
  served.join();
  const auto stored = storage.evaluation(served.study.record().id, 0);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->worker, "next:2");
  EXPECT_EQ(json::parse(stored->metrics_json), json({{"ndcg@10", 0.3}}));
  EXPECT_EQ(storage.late_messages(served.study.record().id).size(), 1u);
}

// A real SQLite failure: a trigger (added by another connection) aborts every update to STALE.
void exec_sql(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST(HpoCoordinatorLeases, ASweepWhoseWriteFailsKeepsTheLeaseAndRequeuesOnceItSucceeds) {
  ScratchDir dir("hpo_lease_sweep");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(1);
  o.lease = 200ms;
  Served served(storage, o);
  exec_sql(dir / "study.db",
           "CREATE TRIGGER refuse_stale BEFORE UPDATE OF state ON trials WHEN NEW.state = 'STALE' "
           "BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END");
  RawClient gone(served.coordinator.port()), next(served.coordinator.port());
  gone.hello(kToken, "gone:1");
  next.hello(kToken, "next:2");
  ASSERT_EQ(lease_until_given(gone)["type"], "trial");  // then silent
  std::this_thread::sleep_for(800ms);                   // several sweeps fail to expire it
  EXPECT_EQ(next.ask(msg("lease"))["type"], "wait");
  EXPECT_EQ(served.study.history().at(0).state, TrialState::kRunning);

  exec_sql(dir / "study.db", "DROP TRIGGER refuse_stale");  // the disk recovers
  const json again = lease_until_given(next);
  ASSERT_EQ(again["type"], "trial");
  EXPECT_EQ(again["attempt"], 2);
  EXPECT_EQ(next.ask(complete(2, 1.0))["type"], "ok");
  served.stop();
  EXPECT_EQ(served.stats.expired_leases, 1);
  EXPECT_EQ(served.study.stored_trials()[0].trial.state, TrialState::kComplete);
}

}  // namespace
}  // namespace pixelrec::hpo
