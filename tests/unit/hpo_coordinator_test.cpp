// The coordinator over real TCP on 127.0.0.1: a whole study driven by fake workers (the client),
// ASHA answers at rung boundaries, rejection of bad clients while good ones are served, lease
// expiry and requeue, late results, the single test evaluation, restart with resume, and the
// config-driven study runner with its discovery and output files.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "hpo/asha.h"
#include "hpo/coordinator.h"
#include "hpo/coordinator_client.h"
#include "hpo/coordinator_study.h"
#include "hpo/protocol.h"
#include "hpo/random_sampler.h"
#include "hpo/study_finished_marker.h"
#include "hpo/study_lock.h"
#include "support/test_support.h"
#include "unit/hpo_coordinator_fixture.h"

namespace pixelrec::hpo {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::ScratchDir;
namespace fs = std::filesystem;
using namespace coordinator_test;

// A worker loop: trials report 3 epochs and complete with the quadratic; the evaluation sends
// fixed metrics. Returns how many evaluate requests it got.
int run_worker(const ClientOptions& options) {
  CoordinatorClient client(options);
  int evaluations = 0;
  while (true) {
    const LeaseReply reply = client.lease();
    if (const auto* t = std::get_if<TrialTicket>(&reply)) {
      client.start_heartbeat(t->number);
      bool pruned = false;
      for (int64_t step = 1; step <= 3 && !pruned; ++step) {
        const ReportReply r = client.report(t->number, t->attempt, step, -quadratic(t->params));
        pruned = r == ReportReply::kPrune;
      }
      client.stop_heartbeat();
      client.finish(
          t->number, t->attempt,
          pruned ? TrialOutcome::pruned("asha") : TrialOutcome::complete(quadratic(t->params)));
    } else if (const auto* e = std::get_if<EvaluateRequest>(&reply)) {
      ++evaluations;
      client.send_evaluation(e->trial, {{"ndcg@10", 0.25}, {"recall@10", 0.5}});
    } else if (const auto* w = std::get_if<WaitReply>(&reply)) {
      std::this_thread::sleep_for(w->retry_after);
    } else {
      return evaluations;
    }
  }
}

TEST(HpoCoordinator, FakeWorkersRunAWholeStudyToTheRightBest) {
  ScratchDir dir("hpo_coord");
  StudyStorage storage(dir / "study.db");
  std::atomic<int> finished_calls{0};
  CoordinatorOptions o = options(15, 3);
  o.on_finished = [&] { ++finished_calls; };
  Served served(storage, o);
  std::vector<std::thread> workers;
  std::atomic<int> evaluations{0};
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back(
        [&, w] { evaluations += run_worker(served.client("w:" + std::to_string(w))); });
  }
  for (auto& t : workers) t.join();
  served.join();

  EXPECT_TRUE(served.stats.finished);
  EXPECT_EQ(finished_calls.load(), 1);
  EXPECT_EQ(evaluations.load(), 1);  // exactly one worker evaluated the best trial
  EXPECT_EQ(served.stats.trials_leased, 15);
  EXPECT_EQ(served.stats.connections, 3);
  EXPECT_TRUE(served.stats.rejected.empty());
  const std::vector<StoredTrial> trials = served.study.stored_trials();
  ASSERT_EQ(trials.size(), 15u);
  int64_t best = -1;
  for (const StoredTrial& t : trials) {
    EXPECT_EQ(t.trial.state, TrialState::kComplete);
    EXPECT_DOUBLE_EQ(*t.trial.value, quadratic(t.trial.params));
    EXPECT_EQ(served.study.history().at(t.trial.number).intermediate_values.size(), 3u);
    if (best < 0 || *t.trial.value < *trials[size_t(best)].trial.value) best = t.trial.number;
  }
  ASSERT_TRUE(served.study.best_trial());
  EXPECT_EQ(served.study.best_trial()->number, best);
  const auto evaluation = storage.evaluation(served.study.record().id, best);
  ASSERT_TRUE(evaluation);
  EXPECT_EQ(json::parse(evaluation->metrics_json), json({{"ndcg@10", 0.25}, {"recall@10", 0.5}}));
}

TEST(HpoCoordinator, AnswersAshaDecisionsAtRungBoundaries) {
  ScratchDir dir("hpo_coord");
  StudyStorage storage(dir / "study.db");
  AshaOptions asha;
  asha.min_resource = 1;
  asha.max_resource = 9;
  asha.reduction_factor = 3;
  Served served(storage, options(4, 4), std::make_unique<AshaPruner>(asha, Direction::kMinimize));
  CoordinatorClient client(served.client("w:1"));
  for (int i = 0; i < 4; ++i) ASSERT_EQ(std::get<TrialTicket>(client.lease()).number, i);
  // Minimize. Rung 0 at step 1: trial 0 first (continues), trial 1 worse than the only value
  // (fewer than eta values: must be best → prune), trial 2 best → continue, trial 3: 4 values,
  // k = 1: worse than the best → prune. Step 2 lies between rungs; rung 1 at step 3.
  const std::vector<std::tuple<int64_t, int64_t, double, ReportReply>> script = {
      {0, 1, 5.0, ReportReply::kContinue}, {1, 1, 6.0, ReportReply::kPrune},
      {2, 1, 4.0, ReportReply::kContinue}, {3, 1, 4.5, ReportReply::kPrune},
      {0, 2, 9.0, ReportReply::kContinue}, {0, 3, 3.0, ReportReply::kContinue},
      {2, 3, 3.5, ReportReply::kPrune},    {1, 2, 1.0, ReportReply::kPrune}};
  for (const auto& [trial, step, value, expected] : script) {
    EXPECT_EQ(client.report(trial, 1, step, value), expected)
        << "trial " << trial << " step " << step;
  }
  served.stop();
}

TEST(HpoCoordinator, RejectsBadClientsAndKeepsServingTheGoodOne) {
  ScratchDir dir("hpo_coord");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(3);
  o.max_message_bytes = 256;
  o.idle_timeout = 400ms;
  o.heartbeat = 100ms;
  o.lease = 5s;
  Served served(storage, o);
  const uint16_t port = served.coordinator.port();
  CoordinatorClient good(served.client("good:1"));
  const auto first = std::get<TrialTicket>(good.lease());
  good.start_heartbeat(first.number);  // keeps the lease and the connection alive

  RawClient wrong_token(port);
  json reply = wrong_token.hello("not-the-token");
  EXPECT_EQ(reply["code"], "unauthorized");
  EXPECT_TRUE(wrong_token.closed_by_peer());

  RawClient wrong_version(port);
  reply = wrong_version.ask({{"v", 2}, {"type", "hello"}, {"token", kToken}});
  EXPECT_EQ(reply["code"], "version");
  EXPECT_TRUE(wrong_version.closed_by_peer());

  RawClient not_hello(port);
  EXPECT_EQ(not_hello.ask(msg("lease"))["code"], "hello_first");
  EXPECT_TRUE(not_hello.closed_by_peer());

  RawClient oversize(port);
  EXPECT_EQ(oversize.hello()["type"], "welcome");
  oversize.send_raw(std::string(1000, 'x'));  // no newline: never buffered past the limit
  reply = *oversize.receive();
  EXPECT_EQ(reply["code"], "too_long");
  EXPECT_TRUE(oversize.closed_by_peer());

  RawClient forger(port);  // a worker name that would forge log lines is refused
  reply = forger.ask({{"v", 1},
                      {"type", "hello"},
                      {"token", kToken},
                      {"worker", "a\n[info] coordinator: study finished"},
                      {"ranks", 1}});
  EXPECT_EQ(reply["code"], "bad_field");
  EXPECT_EQ(reply["message"].get<std::string>().find('\n'), std::string::npos);
  EXPECT_TRUE(forger.closed_by_peer());

  RawClient deep(port);  // before hello: answered, closed; the coordinator keeps serving
  deep.send_raw(R"({"v": )" + std::string(100, '[') + std::string(100, ']') + "}\n");
  EXPECT_EQ(deep.receive().value()["code"], "too_complex");
  EXPECT_TRUE(deep.closed_by_peer());

  RawClient sloppy(port);  // authenticated: mistakes are answered, the connection stays
  EXPECT_EQ(sloppy.hello()["type"], "welcome");
  EXPECT_EQ(sloppy.ask(json::parse(R"({"v":1,"type":"report","trial":0})"))["message"],
            "field 'attempt' is missing; 'report' needs it (an integer)");
  sloppy.send_raw("{this is not json\n");
  EXPECT_EQ(sloppy.receive().value()["code"], "bad_json");
  EXPECT_EQ(sloppy.ask(msg("launch"))["code"], "unknown_type");
  EXPECT_EQ(sloppy.ask(msg("heartbeat", {{"trial", 42}}))["code"], "unknown_trial");
  EXPECT_EQ(sloppy.ask(msg("heartbeat", {{"trial", first.number}}))["type"], "cancel");  // not its
  EXPECT_EQ(sloppy.ask(msg("hello", {{"token", kToken}, {"worker", "a:1"}, {"ranks", 1}}))["code"],
            "hello_first");
  EXPECT_TRUE(sloppy.closed_by_peer());

  RawClient silent(port);
  EXPECT_EQ(silent.hello()["type"], "welcome");
  const auto t0 = std::chrono::steady_clock::now();
  reply = *silent.receive();  // says nothing: closed after the idle timeout
  EXPECT_EQ(reply["code"], "idle_timeout");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 350ms);
  EXPECT_TRUE(silent.closed_by_peer());

  // The good client was served throughout; its heartbeats kept its connection alive.
  good.stop_heartbeat();
  EXPECT_FALSE(good.cancelled());
  EXPECT_TRUE(good.heartbeat(first.number));
  good.finish(first.number, first.attempt, TrialOutcome::complete(quadratic(first.params)));
  for (int i = 1; i < 3; ++i) {
    const auto t = std::get<TrialTicket>(good.lease());
    EXPECT_EQ(t.number, i);
    good.finish(t.number, t.attempt, TrialOutcome::failed("out of memory"));
  }
  ASSERT_TRUE(std::holds_alternative<EvaluateRequest>(good.lease()));
  served.stop();
  const std::map<std::string, int64_t> expected = {
      {"unauthorized", 1}, {"version", 1},    {"hello_first", 2},  {"too_long", 1},
      {"bad_field", 2},    {"bad_json", 1},   {"unknown_type", 1}, {"unknown_trial", 1},
      {"idle_timeout", 1}, {"too_complex", 1}};
  // bad_field: the sloppy report and the forged worker name.
  EXPECT_EQ(served.stats.rejected, expected);
  EXPECT_EQ(served.study.count(TrialState::kComplete), 1u);
  EXPECT_EQ(served.study.count(TrialState::kFailed), 2u);
}

// Connections are bounded: beyond max_connections a new one is closed at once; one that never
// says hello is closed after hello_timeout, sooner than the idle timeout of a worker; a pre-hello
// error closes the connection though the client reads nothing; an authenticated client that
// floods requests without reading is cut at max_pending_replies; the good client is served
// throughout.
TEST(HpoCoordinator, BoundsConnectionsHelloTimeAndClientsThatNeverRead) {
  ScratchDir dir("hpo_coord_bounds");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(2);
  o.max_connections = 3;
  o.hello_timeout = 300ms;
  o.idle_timeout = 30s;
  o.close_grace = 300ms;
  o.heartbeat = 100ms;
  o.lease = 5s;
  Served served(storage, o);
  const uint16_t port = served.coordinator.port();
  CoordinatorClient good(served.client("good:1"));
  const auto first = std::get<TrialTicket>(good.lease());
  good.start_heartbeat(first.number);

  auto mute = std::make_unique<RawClient>(port);  // connection 2: never says hello
  const auto t0 = std::chrono::steady_clock::now();
  {
    RawClient third(port);  // connection 3: at the cap, still served
    EXPECT_EQ(third.hello()["type"], "welcome");
    RawClient fourth(port);  // over the cap: closed right away, nothing said
    EXPECT_TRUE(fourth.closed_by_peer());
  }
  const json reply = mute->receive().value_or(json::object());
  EXPECT_EQ(reply["code"], "idle_timeout");
  EXPECT_NE(reply["message"].get<std::string>().find("no hello"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_TRUE(mute->closed_by_peer());
  mute.reset();

  // A pre-hello error closes the connection even though the client reads nothing.
  RawClient rude(port);
  rude.send_raw("{x\n{y\n");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(rude.receive().value_or(json::object())["code"], "bad_json");
  EXPECT_TRUE(rude.closed_by_peer());

  // An authenticated client that sends without ever reading its replies is cut once
  // max_pending_replies pile up, instead of growing the coordinator's memory.
  RawClient flooder(port, /*receive_buffer=*/2048);
  EXPECT_EQ(flooder.hello()["type"], "welcome");
  std::string garbage;
  for (int k = 0; k < 4000; ++k) garbage += "{x\n";
  flooder.send_raw(garbage);
  std::this_thread::sleep_for(1s);
  int replies = 0;
  while (flooder.receive()) ++replies;  // what was sent before the cut, then the close
  EXPECT_LT(replies, 4000);

  good.stop_heartbeat();
  EXPECT_TRUE(good.heartbeat(first.number));
  good.finish(first.number, first.attempt, TrialOutcome::complete(quadratic(first.params)));
  served.stop();
  EXPECT_EQ(served.stats.refused_connections, 1);
  EXPECT_EQ(served.stats.rejected.at("slow_reader"), 1);
}

TEST(HpoCoordinator, ExpiredLeaseRequeuesTheTrialAndALateFinishIsRecordedNotApplied) {
  ScratchDir dir("hpo_coord");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(1);
  o.lease = 300ms;
  Served served(storage, o);
  RawClient gone(served.coordinator.port());  // leases trial 0, then falls silent
  gone.hello();
  const json first = gone.ask(msg("lease"));
  ASSERT_EQ(first["type"], "trial");
  EXPECT_EQ(first["attempt"], 1);

  CoordinatorClient second(served.client("second:2"));
  LeaseReply reply = second.lease();
  EXPECT_TRUE(std::holds_alternative<WaitReply>(reply));  // trial 0 is still leased
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::holds_alternative<WaitReply>(reply) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    reply = second.lease();
  }
  const auto again = std::get<TrialTicket>(reply);
  EXPECT_EQ(again.number, 0);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_EQ(params_to_json(again.params), first["params"]);  // same parameters
  const auto stale = served.study.stored_trials()[0];
  EXPECT_EQ(stale.trial.state, TrialState::kRunning);
  EXPECT_NE(stale.message.find("lease expired: worker raw:1"), std::string::npos) << stale.message;

  // The first attempt wakes up: its report and its finish are cancelled, kept but not applied.
  EXPECT_EQ(
      gone.ask(msg("report", {{"trial", 0}, {"attempt", 1}, {"step", 1}, {"value", 7.0}}))["type"],
      "cancel");
  EXPECT_EQ(gone.ask(msg("heartbeat", {{"trial", 0}}))["type"], "cancel");
  EXPECT_EQ(gone.ask(msg(
                "finish",
                {{"trial", 0}, {"attempt", 1}, {"state", "complete"}, {"value", 100.0}}))["code"],
            "stale_attempt");
  EXPECT_EQ(served.study.history().at(0).state, TrialState::kRunning);
  second.finish(0, 2, TrialOutcome::complete(1.5));
  EXPECT_TRUE(std::holds_alternative<EvaluateRequest>(second.lease()));
  second.send_evaluation(0, {{"ndcg@10", 0.1}});
  EXPECT_TRUE(std::holds_alternative<StudyDone>(second.lease()));
  served.join();

  const StoredTrial done = served.study.stored_trials()[0];
  EXPECT_EQ(done.trial.state, TrialState::kComplete);
  EXPECT_DOUBLE_EQ(*done.trial.value, 1.5);
  EXPECT_EQ(done.attempt, 2);
  EXPECT_EQ(done.worker, "second:2");
  const std::vector<LateMessage> late = storage.late_messages(served.study.record().id);
  ASSERT_EQ(late.size(), 2u);
  EXPECT_EQ(late[0].attempt, 1);
  EXPECT_EQ(json::parse(late[0].message)["type"], "report");
  EXPECT_EQ(json::parse(late[1].message)["value"], 100.0);
  EXPECT_TRUE(storage.reports(served.study.record().id).empty());  // the late report not applied
  EXPECT_EQ(served.stats.expired_leases, 1);
  EXPECT_EQ(served.stats.late_messages, 2);
}

// A trial whose lease expires max_attempts times (a worker that dies or hangs on it every time)
// is FAILED with the reason instead of being handed out forever.
TEST(HpoCoordinator, ATrialWhoseLeaseExpiresMaxAttemptsTimesIsFailed) {
  ScratchDir dir("hpo_coord_attempts");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(1);
  o.lease = 200ms;
  o.max_attempts = 2;
  Served served(storage, o);
  const auto lease_and_vanish = [&](int64_t expected_attempt) {
    RawClient worker(served.coordinator.port());
    worker.hello();
    json reply = worker.ask(msg("lease"));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (reply["type"] == "wait" && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      reply = worker.ask(msg("lease"));
    }
    ASSERT_EQ(reply["type"], "trial");
    EXPECT_EQ(reply["attempt"], expected_attempt);
    std::this_thread::sleep_for(600ms);  // silent past the lease
  };
  lease_and_vanish(1);
  lease_and_vanish(2);
  // No third attempt: the study's only trial failed, so it is finished and the coordinator,
  // with no connection left, stops by itself.
  served.join();
  EXPECT_TRUE(served.stats.finished);
  const StoredTrial failed = served.study.stored_trials()[0];
  EXPECT_EQ(failed.trial.state, TrialState::kFailed);
  EXPECT_NE(failed.message.find("lease expired 2 times (max_attempts 2): last worker raw:1"),
            std::string::npos)
      << failed.message;
  EXPECT_EQ(served.stats.expired_leases, 2);
}

// A lease answer other than `wait`, asking until one comes (at most 5 s).
LeaseReply lease_past_waits(CoordinatorClient& client) {
  LeaseReply reply = client.lease();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::holds_alternative<WaitReply>(reply) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    reply = client.lease();
  }
  return reply;
}

// A pre-empted worker releases its trial: it is requeued at once (not after its lease expires),
// its next attempt resumes, and releases do not count towards max_attempts; a release for an
// attempt that lost its lease is recorded, not applied.
TEST(HpoCoordinator, AReleasedTrialIsRequeuedAtOnceAndReleasesDoNotCountAsFailedAttempts) {
  ScratchDir dir("hpo_coord_release");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(1);
  o.lease = 1500ms;
  o.max_attempts = 2;
  Served served(storage, o);
  CoordinatorClient first(served.client("first:1")), second(served.client("second:2"));
  const auto t1 = std::get<TrialTicket>(first.lease());
  EXPECT_TRUE(std::holds_alternative<WaitReply>(second.lease()));
  first.release(t1.number, t1.attempt, "pre-empted by signal 15");
  // Requeued at once: the very next lease hands it out again, with the same parameters.
  const auto t2 = std::get<TrialTicket>(second.lease());
  EXPECT_EQ(t2.number, 0);
  EXPECT_EQ(t2.attempt, 2);
  EXPECT_EQ(params_to_json(t2.params), params_to_json(t1.params));
  EXPECT_NE(served.study.stored_trials()[0].message.find(
                "released by worker first:1 (attempt 1): 'pre-empted by signal 15'; requeued"),
            std::string::npos)
      << served.study.stored_trials()[0].message;
  first.release(0, 1, "late");  // attempt 1 holds no lease any more: kept, not applied
  second.release(0, 2, "pre-empted again");
  // Two releases, then two expiries: only the second expiry reaches max_attempts (2).
  for (const int64_t attempt : {3, 4}) {
    RawClient vanishing(served.coordinator.port());
    vanishing.hello();
    json reply = vanishing.ask(msg("lease"));
    for (int i = 0; i < 250 && reply["type"] == "wait"; ++i) {
      std::this_thread::sleep_for(20ms);
      reply = vanishing.ask(msg("lease"));
    }
    ASSERT_EQ(reply["type"], "trial") << reply.dump();
    EXPECT_EQ(reply["attempt"], attempt);
    std::this_thread::sleep_for(2500ms);  // silent past the lease
  }
  served.join();
  const StoredTrial failed = served.study.stored_trials()[0];
  EXPECT_EQ(failed.trial.state, TrialState::kFailed);
  EXPECT_NE(failed.message.find("lease expired 2 times (max_attempts 2)"), std::string::npos)
      << failed.message;
  EXPECT_EQ(served.stats.released_leases, 2);
  EXPECT_EQ(served.stats.expired_leases, 2);
  const std::vector<LateMessage> late = storage.late_messages(served.study.record().id);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(json::parse(late[0].message)["type"], "release");
}

// Heartbeats carry the training progress and renew the lease while training moves; once no
// progress was noted for the stall timeout they stop, so a hung worker loses its trial.
TEST(HpoCoordinator, AWorkerWhoseTrainingStallsStopsRenewingAndItsTrialRunsElsewhere) {
  ScratchDir dir("hpo_coord_stall");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(1);
  o.lease = 800ms;
  o.heartbeat = 100ms;
  Served served(storage, o);
  ClientOptions hung_options = served.client("hung:1");
  hung_options.stall_timeout = 500ms;
  CoordinatorClient hung(hung_options), other(served.client("other:2"));
  const auto t = std::get<TrialTicket>(hung.lease());
  hung.start_heartbeat(t.number, /*watch_progress=*/true);
  // Training moves for 2 s (longer than the lease): the heartbeats keep the trial.
  for (int step = 1; step <= 40; ++step) {
    hung.note_progress(step);
    std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(std::holds_alternative<WaitReply>(other.lease())) << "step " << step;
  }
  EXPECT_FALSE(hung.stalled());
  // Then it hangs: within stall timeout + lease the trial is requeued to the other worker.
  const auto again = std::get<TrialTicket>(lease_past_waits(other));
  EXPECT_EQ(again.number, t.number);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_TRUE(hung.stalled());
  EXPECT_FALSE(hung.cancelled());
  const std::string why = served.study.stored_trials()[0].message;
  EXPECT_NE(why.find("lease expired: worker hung:1"), std::string::npos) << why;
  EXPECT_NE(why.find("its last heartbeat said training step 40"), std::string::npos) << why;
  hung.stop_heartbeat();
}

// A client that lost its coordinator reconnects to the one restarted with --resume, finding its
// new port and token through `rediscover`, and gets the interrupted trial back as attempt 2.
TEST(HpoCoordinator, AClientReconnectsToARestartedCoordinatorThroughRediscovery) {
  ScratchDir dir("hpo_coord_reconnect");
  std::mutex endpoint_mutex;
  CoordinatorEndpoint endpoint;
  const auto publish = [&](const std::string& address, const std::string& token) {
    std::lock_guard lock(endpoint_mutex);
    endpoint = {address, token};
  };
  std::optional<StudyStorage> storage(std::in_place, dir / "study.db");
  auto served = std::make_unique<Served>(*storage, options(1));
  publish(served->address(), kToken);
  ClientOptions client_options = served->client("w:1");
  client_options.connect_deadline = 10s;
  client_options.rediscover = [&] {
    std::lock_guard lock(endpoint_mutex);
    return endpoint;
  };
  CoordinatorClient client(client_options);
  const auto first = std::get<TrialTicket>(client.lease());
  served.reset();  // the coordinator dies with trial 0 RUNNING
  storage.reset();
  EXPECT_THROW(client.report(first.number, first.attempt, 1, 0.5), Error);
  EXPECT_TRUE(client.lost());
  EXPECT_THROW(client.lease(), Error);  // no request goes out on a lost connection

  std::thread restart([&] {
    std::this_thread::sleep_for(300ms);  // the client is retrying by now
    storage.emplace(dir / "study.db");
    CoordinatorOptions o = options(1);
    o.token = "a-new-token-after-restart";
    served = std::make_unique<Served>(*storage, o);
    publish(served->address(), o.token);
  });
  client.reconnect();
  restart.join();
  EXPECT_FALSE(client.lost());
  EXPECT_EQ(client.address(), served->address());
  const auto again = std::get<TrialTicket>(client.lease());
  EXPECT_EQ(again.number, 0);
  EXPECT_EQ(again.attempt, 2);
}

// A worker whose connection dropped (the coordinator still runs) reconnects; its messages carry
// the trial's lease_key, so the lease moves to the new connection: a report is served and the
// release is applied (requeued at once, not left to expire and counted as an attempt).
TEST(HpoCoordinator, AReleaseAfterReconnectingMovesTheLeaseThroughItsKeyAndIsApplied) {
  ScratchDir dir("hpo_coord_release_reconnect");
  StudyStorage storage(dir / "study.db");
  CoordinatorOptions o = options(1);
  o.idle_timeout = 400ms;  // the coordinator drops the idle worker's connection
  o.max_attempts = 1;      // an expiry would fail the trial
  Served served(storage, o);
  CoordinatorClient dropped(served.client("dropped:1"));
  const auto t = std::get<TrialTicket>(dropped.lease());
  std::this_thread::sleep_for(1s);
  EXPECT_THROW(dropped.report(t.number, t.attempt, 1, 0.5), Error);
  ASSERT_TRUE(dropped.lost());
  dropped.reconnect();
  EXPECT_EQ(dropped.report(t.number, t.attempt, 1, 0.5), ReportReply::kContinue);
  EXPECT_TRUE(dropped.release(t.number, t.attempt, "pre-empted by signal 15"));
  CoordinatorClient other(served.client("other:2"));
  const auto again = std::get<TrialTicket>(other.lease());
  EXPECT_EQ(again.number, t.number);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_TRUE(other.finish(again.number, again.attempt, TrialOutcome::complete(1.0)));
  const auto evaluate = std::get<EvaluateRequest>(other.lease());
  EXPECT_TRUE(other.send_evaluation(evaluate.trial, {{"ndcg@10", 0.25}}));
  EXPECT_TRUE(std::holds_alternative<StudyDone>(other.lease()));
  served.join();
  EXPECT_EQ(served.study.stored_trials()[0].trial.state, TrialState::kComplete);
  EXPECT_EQ(served.stats.released_leases, 1);
  EXPECT_EQ(served.stats.expired_leases, 0);
  EXPECT_TRUE(storage.late_messages(served.study.record().id).empty());
}

TEST(HpoCoordinator, TheBestTrialIsEvaluatedByExactlyOneWorkerOnce) {
  ScratchDir dir("hpo_coord");
  StudyStorage storage(dir / "study.db");
  Served served(storage, options(2, 2));
  CoordinatorClient a(served.client("a:1")), b(served.client("b:2"));
  const auto ta = std::get<TrialTicket>(a.lease());
  const auto tb = std::get<TrialTicket>(b.lease());
  RawClient eager(served.coordinator.port());
  eager.hello();
  EXPECT_EQ(eager.ask(msg("evaluation", {{"trial", ta.number}, {"metrics", {{"m", 1}}}}))["code"],
            "not_leaseholder");  // not requested: error
  a.finish(ta.number, ta.attempt, TrialOutcome::complete(3.0));
  b.finish(tb.number, tb.attempt, TrialOutcome::complete(2.0));
  const auto e = std::get<EvaluateRequest>(b.lease());
  EXPECT_EQ(e.trial, tb.number);                              // the best (minimize)
  EXPECT_TRUE(std::holds_alternative<WaitReply>(a.lease()));  // with b, not handed out twice
  EXPECT_TRUE(b.send_evaluation(e.trial, {{"ndcg@10", 0.3}}));
  // A second evaluation of the same trial: cancelled, recorded as late, not applied.
  EXPECT_FALSE(a.send_evaluation(e.trial, {{"ndcg@10", 0.9}}));
  EXPECT_TRUE(std::holds_alternative<StudyDone>(a.lease()));
  served.stop();  // (not join: the open raw connection would hold the drain)
  EXPECT_EQ(json::parse(storage.evaluation(served.study.record().id, e.trial)->metrics_json),
            json({{"ndcg@10", 0.3}}));
  EXPECT_EQ(served.stats.late_messages, 1);
  EXPECT_EQ(served.stats.rejected.at("not_leaseholder"), 1);
}

TEST(HpoCoordinator, RestartWithResumeLosesNoTrialAndKeepsAshaDecisions) {
  ScratchDir dir("hpo_coord");
  AshaOptions asha;
  asha.max_resource = 9;
  const auto pruner = [&] { return std::make_unique<AshaPruner>(asha, Direction::kMinimize); };
  std::vector<Decision> observed;
  std::vector<ParamMap> params_of(6);
  // Reports of trial n at epoch s: a value that differs between trials and epochs.
  const auto value = [](int64_t n, int64_t s) { return std::fmod(n * 7.3 + s * 1.1, 5.0); };
  const auto run_trial = [&](CoordinatorClient& c, const TrialTicket& t, int64_t last_step) {
    params_of[size_t(t.number)] = t.params;
    for (int64_t s = 1; s <= last_step; ++s) {
      const ReportReply r = c.report(t.number, t.attempt, s, value(t.number, s));
      observed.push_back(r == ReportReply::kPrune ? Decision::kPrune : Decision::kContinue);
      if (r == ReportReply::kPrune) return false;
    }
    return true;
  };
  {
    StudyStorage storage(dir / "study.db");
    Served first(storage, options(6, 2), pruner());
    CoordinatorClient c(first.client("w:1"));
    for (int i = 0; i < 3; ++i) {
      const auto t = std::get<TrialTicket>(c.lease());
      const bool full = run_trial(c, t, 3);
      c.finish(t.number, t.attempt,
               full ? TrialOutcome::complete(value(t.number, 3)) : TrialOutcome::pruned("asha"));
    }
    const auto interrupted = std::get<TrialTicket>(c.lease());
    EXPECT_EQ(interrupted.number, 3);
    run_trial(c, interrupted, 1);
    first.stop();  // the coordinator dies with trial 3 RUNNING
  }
  StudyStorage storage(dir / "study.db");
  Served second(storage, options(6, 2), pruner());  // resume: RUNNING → STALE, requeued
  CoordinatorClient c(second.client("w:2"));
  int evaluations = 0;
  std::vector<int64_t> attempts(6, 0);
  while (true) {
    const LeaseReply reply = c.lease();
    if (const auto* t = std::get_if<TrialTicket>(&reply)) {
      attempts[size_t(t->number)] = t->attempt;
      if (t->number == 3) {
        EXPECT_EQ(params_to_json(t->params), params_to_json(params_of[3]));
      }
      const bool full = run_trial(c, *t, 3);
      c.finish(t->number, t->attempt,
               full ? TrialOutcome::complete(value(t->number, 3)) : TrialOutcome::pruned("asha"));
    } else if (const auto* e = std::get_if<EvaluateRequest>(&reply)) {
      ++evaluations;
      c.send_evaluation(e->trial, {{"ndcg@10", 1.0}});
    } else if (std::holds_alternative<StudyDone>(reply)) {
      break;
    }
  }
  second.join();
  EXPECT_EQ(attempts, (std::vector<int64_t>{0, 0, 0, 2, 1, 1}));
  EXPECT_EQ(evaluations, 1);
  const std::vector<StoredTrial> trials = second.study.stored_trials();
  ASSERT_EQ(trials.size(), 6u);
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].trial.number, int64_t(i));
    EXPECT_TRUE(trials[i].trial.state == TrialState::kComplete ||
                trials[i].trial.state == TrialState::kPruned);
  }
  // Every decision, before and after the restart, equals a replay of the stored reports.
  std::vector<Report> reports;
  for (const StoredReport& r : storage.reports(second.study.record().id))
    reports.push_back(r.report);
  EXPECT_EQ(reports.size(), observed.size());
  EXPECT_EQ(pruner()->rebuild(reports), observed);
  EXPECT_GE(std::count(observed.begin(), observed.end(), Decision::kPrune), 1);
}

// A second coordinator on a study whose lock is held (another coordinator, alive) is refused
// before it reads or writes anything, --resume or not.
TEST(HpoCoordinatorStudy, RefusesAStudyAnotherProcessHolds) {
  ScratchDir dir("hpo_coord_locked");
  Config config;
  config.results_dir = (dir / "results").string();
  config.hyperparameter_search.study_name = "held";
  config.hyperparameter_search.search_space =
      YAML::Load("training.learning_rate: {type: float, low: 0.001, high: 0.1}\n");
  const fs::path study_dir = dir / "results" / "hpo" / "held";
  fs::create_directories(study_dir);
  const StudyLock other(study_dir / "study.db");
  for (bool resume : {false, true}) {
    CoordinatorStudyOptions o{config, resume, [](const std::string&, uint16_t) {}, {}};
    try {
      run_coordinator_study(o);
      FAIL() << "a second writer was let in";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is in use by pid"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(fs::exists(study_dir / "study.db"));  // refused before opening it
}

TEST(HpoCoordinatorStudy, RunsFromTheConfigAndWritesDiscoveryAndOutputs) {
  ScratchDir dir("hpo_coord");
  Config config;
  config.results_dir = (dir / "results").string();
  HyperparameterSearchConfig& h = config.hyperparameter_search;
  h.study_name = "cfg";
  h.n_trials = 4;
  h.sampler = "random";
  h.pruner = "none";
  h.direction = "minimize";
  h.search_space = YAML::Load(
      "training.learning_rate: {type: float, low: 0.001, high: 0.1, log: true}\n"
      "training.optimizer_type: {type: categorical, choices: [adam, sgd]}\n");
  std::optional<CoordinatorStudySummary> summary;
  std::atomic<uint16_t> port{0};
  CoordinatorStudyOptions o{config, false, [&](const std::string&, uint16_t p) { port = p; }, {}};
  std::thread coordinator([&] { summary = run_coordinator_study(o); });
  const fs::path study_dir = dir / "results" / "hpo" / "cfg";
  while (port == 0) std::this_thread::sleep_for(5ms);

  const json info = json::parse(test::read_text(study_dir / "coordinator.json"));
  EXPECT_EQ(info["port"], port.load());
  EXPECT_EQ(info["host"], "127.0.0.1");
  EXPECT_EQ(info["version"], 1);
  EXPECT_EQ(info["pid"], int64_t(::getpid()));
  struct stat st {};
  ASSERT_EQ(::stat((study_dir / "coordinator.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(study_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);  // the folder holding the token is the owner's alone
  const CoordinatorEndpoint endpoint = read_coordinator_endpoint(study_dir);
  EXPECT_EQ(endpoint.address, "127.0.0.1:" + std::to_string(port.load()));
  EXPECT_EQ(endpoint.token.size(), 32u);
  EXPECT_EQ(endpoint.token.find_first_not_of("0123456789abcdef"), std::string::npos);

  {  // the client disconnects at the end, so the coordinator need not wait out its drain
    ClientOptions c;
    c.address = endpoint.address;
    c.token = endpoint.token;
    c.worker = "w:1";
    CoordinatorClient client(c);
    EXPECT_EQ(client.welcome().study, "cfg");
    EXPECT_EQ(client.welcome().metric, "val_ndcg@10");
    EXPECT_EQ(client.welcome().direction, Direction::kMinimize);
    EXPECT_EQ(client.welcome().lease, 60s);
    // Objective: the learning rate itself, so the smallest one wins.
    while (true) {
      const LeaseReply reply = client.lease();
      if (const auto* t = std::get_if<TrialTicket>(&reply)) {
        client.finish(
            t->number, t->attempt,
            TrialOutcome::complete(std::get<double>(t->params.at("training.learning_rate"))));
      } else if (const auto* e = std::get_if<EvaluateRequest>(&reply)) {
        client.send_evaluation(e->trial, {{"ndcg@10", 0.42}});
      } else if (std::holds_alternative<StudyDone>(reply)) {
        break;
      }
    }
  }
  coordinator.join();
  ASSERT_TRUE(summary && summary->best);
  EXPECT_TRUE(summary->best_config_written) << summary->best_config_note;
  EXPECT_EQ(summary->counts.at(TrialState::kComplete), 4);
  const json best = json::parse(test::read_text(study_dir / "best_params.json"));
  EXPECT_EQ(best["trial"], summary->best->number);
  const json metrics = json::parse(test::read_text(study_dir / "best_test_metrics.json"));
  EXPECT_EQ(metrics["trial"], summary->best->number);
  EXPECT_EQ(metrics["metrics"], json({{"ndcg@10", 0.42}}));
  const std::string yaml = test::read_text(study_dir / "best_config.yaml");
  const YAML::Node node = YAML::Load(yaml);
  EXPECT_DOUBLE_EQ(node["training"]["learning_rate"].as<double>(), *summary->best->value);
  EXPECT_EQ(node["training"]["optimizer_type"].as<std::string>(),
            std::get<std::string>(summary->best->params.at("training.optimizer_type")));
  EXPECT_TRUE(fs::exists(study_dir / "trials.csv"));
  EXPECT_TRUE(fs::exists(study_dir / "history.html"));
  EXPECT_FALSE(fs::exists(study_dir / "coordinator.json"));  // nobody listens any more
  // ... and a worker group starting now learns that the study is over.
  const auto finished = read_finished_marker(study_dir);
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->study, "cfg");
  EXPECT_EQ(finished->n_trials, 4);
  EXPECT_EQ(finished->trials, 4);

  // The same study again without resume is refused; with resume it is already finished.
  CoordinatorStudyOptions again{config, false, {}, {}};
  EXPECT_THROW(run_coordinator_study(again), UsageError);
  again.resume = true;
  bool marker_while_listening = true;
  again.on_listening = [&](const std::string&, uint16_t) {
    marker_while_listening = read_finished_marker(study_dir).has_value();
  };
  const CoordinatorStudySummary resumed = run_coordinator_study(again);
  EXPECT_TRUE(resumed.stats.finished);
  EXPECT_EQ(resumed.stats.trials_leased, 0);
  EXPECT_FALSE(marker_while_listening);  // a running coordinator's study is not finished
  EXPECT_TRUE(read_finished_marker(study_dir).has_value());
}

// A coordinator that stops before its study finishes (a signal) leaves no finished marker.
TEST(HpoCoordinatorStudy, AStoppedCoordinatorLeavesNoFinishedMarker) {
  ScratchDir dir("hpo_coord_stopped");
  const Config config = study_config(dir.path(), "stopped", 2);
  CoordinatorStudyOptions o{config, false, {}, [](Coordinator& c) { c.stop(); }};
  const CoordinatorStudySummary summary = run_coordinator_study(o);
  EXPECT_FALSE(summary.stats.finished);
  const fs::path study_dir = dir / "results" / "hpo" / "stopped";
  EXPECT_FALSE(read_finished_marker(study_dir).has_value());
  EXPECT_FALSE(fs::exists(study_dir / "coordinator.json"));
}

}  // namespace
}  // namespace pixelrec::hpo
