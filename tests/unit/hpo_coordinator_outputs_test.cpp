// Honest ends of a distributed study: an output the coordinator cannot write fails the run with
// the file's name (not a success with a missing file), and a test evaluation that failed on its
// worker is stored as an error, never as the best trial's test metrics.
#include <gtest/gtest.h>

#include <atomic>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "core/errors.h"
#include "hpo/coordinator_study.h"
#include "support/test_support.h"
#include "unit/hpo_coordinator_fixture.h"

namespace pixelrec::hpo {
namespace {

using namespace coordinator_test;
using test::ScratchDir;
namespace fs = std::filesystem;

// Runs the study of `config` with one worker whose trials complete with their learning rate and
// whose test evaluation is `evaluate(client, trial)`. Returns the summary, or the run's error.
struct Outcome {
  std::optional<CoordinatorStudySummary> summary;
  std::string error;  // what run_coordinator_study threw
};
Outcome run_study(const Config& config,
                  const std::function<void(CoordinatorClient&, int64_t)>& evaluate) {
  Outcome outcome;
  std::atomic<uint16_t> port{0};
  CoordinatorStudyOptions o{config, false, [&](const std::string&, uint16_t p) { port = p; }, {}};
  std::thread coordinator([&] {
    try {
      outcome.summary = run_coordinator_study(o);
    } catch (const std::exception& e) {
      outcome.error = e.what();
    }
    if (port == 0) port = 1;  // failed before listening: release the wait below
  });
  while (port == 0) std::this_thread::sleep_for(5ms);
  try {
    const CoordinatorEndpoint endpoint = read_coordinator_endpoint(study_directory(config));
    ClientOptions options;
    options.address = endpoint.address;
    options.token = endpoint.token;
    options.worker = "w:1";
    CoordinatorClient client(options);
    while (true) {
      const LeaseReply reply = client.lease();
      if (const auto* t = std::get_if<TrialTicket>(&reply)) {
        const double lr = std::get<double>(t->params.at("training.learning_rate"));
        client.finish(t->number, t->attempt, TrialOutcome::complete(lr));
      } else if (const auto* e = std::get_if<EvaluateRequest>(&reply)) {
        evaluate(client, e->trial);
      } else if (std::holds_alternative<StudyDone>(reply)) {
        break;
      }
    }
  } catch (const Error&) {
    // The coordinator went away early (what the failing-output test provokes).
  }
  coordinator.join();
  return outcome;
}

TEST(HpoCoordinatorStudy, AnOutputItCannotWriteFailsTheRunNamingTheFile) {
  ScratchDir dir("hpo_outputs_unwritable");
  const Config config = study_config(dir.path(), "honest", 3);
  // A folder where trials.csv must go: renaming the finished file over it fails.
  const fs::path blocker = study_directory(config) / "trials.csv";
  fs::create_directories(blocker / "occupied");
  const Outcome outcome = run_study(config, [](CoordinatorClient& c, int64_t trial) {
    c.send_evaluation(trial, {{"ndcg@10", 0.5}});
  });
  EXPECT_FALSE(outcome.summary.has_value()) << "the run claimed success";
  EXPECT_NE(outcome.error.find(blocker.string()), std::string::npos) << outcome.error;
  // The study itself is complete and stored: resuming writes the outputs once the disk is fixed.
  fs::remove_all(blocker);
  CoordinatorStudyOptions again{config, true, {}, {}};
  const CoordinatorStudySummary resumed = run_coordinator_study(again);
  EXPECT_TRUE(resumed.stats.finished);
  EXPECT_EQ(resumed.counts.at(TrialState::kComplete), 3);
  EXPECT_TRUE(fs::is_regular_file(blocker));
  ASSERT_TRUE(resumed.test_metrics.has_value());
  EXPECT_EQ(*resumed.test_metrics, json({{"ndcg@10", 0.5}}));
}

TEST(HpoCoordinatorStudy, AFailedTestEvaluationIsStoredAsAnErrorNotAsMetrics) {
  ScratchDir dir("hpo_outputs_eval_error");
  const Config config = study_config(dir.path(), "honest", 3);
  const Outcome outcome = run_study(config, [](CoordinatorClient& c, int64_t trial) {
    c.send_evaluation_error(trial, "cannot load checkpoint trial_0001/best.pt: no such file");
  });
  ASSERT_TRUE(outcome.summary.has_value()) << outcome.error;
  const CoordinatorStudySummary& s = *outcome.summary;
  ASSERT_TRUE(s.best.has_value());
  EXPECT_FALSE(s.test_metrics.has_value());
  EXPECT_EQ(s.test_error, "cannot load checkpoint trial_0001/best.pt: no such file");
  const json written = json::parse(test::read_text(s.study_dir / "best_test_metrics.json"));
  EXPECT_FALSE(written.contains("metrics")) << written.dump();
  EXPECT_EQ(written["error"], s.test_error);
  EXPECT_EQ(written["trial"], s.best->number);
  StudyStorage storage(s.storage_path);
  const auto stored = storage.evaluation(storage.find_study("honest")->id, s.best->number);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->error, s.test_error);
  EXPECT_EQ(stored->metrics_json, "");
}

TEST(HpoCoordinator, AnEvaluationCarriesMetricsOrANonEmptyErrorNotBoth) {
  ScratchDir dir("hpo_outputs_eval_fields");
  StudyStorage storage(dir / "study.db");
  Served served(storage, options(1));
  RawClient w(served.coordinator.port());
  w.hello();
  ASSERT_EQ(w.ask(msg("lease"))["type"], "trial");
  ASSERT_EQ(
      w.ask(msg("finish",
                {{"trial", 0}, {"attempt", 1}, {"state", "complete"}, {"value", 1.0}}))["type"],
      "ok");
  ASSERT_EQ(w.ask(msg("lease"))["type"], "evaluate");
  json reply =
      w.ask(msg("evaluation", {{"trial", 0}, {"metrics", {{"m", 1}}}, {"error", "also failed"}}));
  EXPECT_EQ(reply["code"], "bad_field");
  EXPECT_EQ(w.ask(msg("evaluation", {{"trial", 0}, {"error", ""}}))["code"], "bad_field");
  EXPECT_EQ(w.ask(msg("evaluation", {{"trial", 0}}))["code"], "bad_field");
  EXPECT_EQ(w.ask(msg("evaluation", {{"trial", 0}, {"error", "out of memory"}}))["type"], "ok");
  served.join();
  const auto stored = storage.evaluation(served.study.record().id, 0);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->error, "out of memory");
}

}  // namespace
}  // namespace pixelrec::hpo
