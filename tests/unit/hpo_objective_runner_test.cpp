// The black-box objective runner with real shell objectives: parameters arrive as environment
// variables and as JSON on stdin, reports reach the handler in order, every failure kind is
// recorded with its reason, and a pruned objective's process group is really stopped.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "hpo/objective_runner.h"
#include "support/test_support.h"

namespace pixelrec::hpo {
namespace {

using test::ScratchDir;

ObjectiveResult run(const std::string& command, const ParamMap& params = {}) {
  return run_objective(command, params, [](int64_t, double) { return Decision::kContinue; });
}

TEST(HpoObjectiveRunner, EnvNamesAreUpperCasedWithUnderscores) {
  EXPECT_EQ(param_env_name("training.learning_rate"), "PIXELREC_PARAM_TRAINING_LEARNING_RATE");
  EXPECT_EQ(param_env_name("x"), "PIXELREC_PARAM_X");
  EXPECT_EQ(param_env_name("model.fusion-type2"), "PIXELREC_PARAM_MODEL_FUSION_TYPE2");
}

TEST(HpoObjectiveRunner, ObjectiveReceivesEnvironmentAndStdinJson) {
  ScratchDir dir("hpo_runner");
  const std::string out = (dir / "seen.txt").string();
  const ParamMap params = {{"training.learning_rate", 0.001},
                           {"model.embedding_dim", int64_t{64}},
                           {"training.optimizer", std::string("adam")},
                           {"model.use_tags", true}};
  const ObjectiveResult r = run(
      "echo \"lr=$PIXELREC_PARAM_TRAINING_LEARNING_RATE dim=$PIXELREC_PARAM_MODEL_EMBEDDING_DIM "
      "opt=$PIXELREC_PARAM_TRAINING_OPTIMIZER tags=$PIXELREC_PARAM_MODEL_USE_TAGS "
      "stale=${PIXELREC_PARAM_STALE:-unset}\" > " +
          test::shell_quote(out) + "; cat >> " + test::shell_quote(out) + "; echo 0.75",
      params);
  ASSERT_EQ(r.status, ObjectiveStatus::kComplete) << r.message;
  EXPECT_EQ(r.value, 0.75);
  const std::vector<std::string> lines = split(test::read_text(out), '\n');
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "lr=0.001 dim=64 opt=adam tags=true stale=unset");
  const nlohmann::json stdin_json = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(stdin_json, nlohmann::json::parse(R"({"training.learning_rate": 0.001,
      "model.embedding_dim": 64, "training.optimizer": "adam", "model.use_tags": true})"));
  EXPECT_TRUE(stdin_json["model.embedding_dim"].is_number_integer());
}

TEST(HpoObjectiveRunner, InheritedParamVariablesDoNotLeakIn) {
  setenv("PIXELREC_PARAM_STALE", "leaked", 1);
  const ObjectiveResult r = run("[ -z \"$PIXELREC_PARAM_STALE\" ] && echo 1 || echo 2");
  unsetenv("PIXELREC_PARAM_STALE");
  EXPECT_EQ(r.value, 1.0);
}

TEST(HpoObjectiveRunner, TheLastNumericStdoutLineIsTheValue) {
  const ObjectiveResult r =
      run("echo 'epoch 1'; echo 3; echo ' 2.5e-1 '; echo done; echo 'report 1 9' ; echo 'bye'");
  ASSERT_EQ(r.status, ObjectiveStatus::kComplete) << r.message;
  EXPECT_EQ(r.value, 0.25);
  EXPECT_EQ(r.reports, 1);
  // A final line without a newline counts too.
  EXPECT_EQ(run("printf '1\\n42'").value, 42.0);
}

TEST(HpoObjectiveRunner, FailuresAreRecordedWithTheirReasons) {
  const ObjectiveResult exit3 = run("echo 0.5; echo 'CUDA out of memory' >&2; exit 3");
  EXPECT_EQ(exit3.status, ObjectiveStatus::kFailed);
  EXPECT_EQ(exit3.message, "objective exited with status 3; stderr: CUDA out of memory");

  const ObjectiveResult killed = run("kill -9 $$");
  EXPECT_EQ(killed.status, ObjectiveStatus::kFailed);
  EXPECT_NE(killed.message.find("killed by signal 9"), std::string::npos) << killed.message;

  const ObjectiveResult no_number = run("echo loss is low; echo warn >&2");
  EXPECT_EQ(no_number.status, ObjectiveStatus::kFailed);
  EXPECT_EQ(no_number.message,
            "objective printed no number on stdout (its last line that is a number is the value; "
            "last line: 'loss is low'); stderr: warn");

  const ObjectiveResult nan = run("echo nan");
  EXPECT_EQ(nan.status, ObjectiveStatus::kFailed);
  EXPECT_NE(nan.message.find("not a finite number"), std::string::npos) << nan.message;
  EXPECT_EQ(run("echo inf").status, ObjectiveStatus::kFailed);

  const ObjectiveResult bad_report = run("echo 'report one 0.5'; echo 1");
  EXPECT_EQ(bad_report.status, ObjectiveStatus::kFailed);
  EXPECT_NE(bad_report.message.find("malformed report line 'report one 0.5'"), std::string::npos)
      << bad_report.message;

  const ObjectiveResult missing = run("/nonexistent/objective --flag");
  EXPECT_EQ(missing.status, ObjectiveStatus::kFailed);
  EXPECT_NE(missing.message.find("exited with status 127"), std::string::npos) << missing.message;
  EXPECT_NE(missing.message.find("/nonexistent/objective"), std::string::npos) << missing.message;
}

TEST(HpoObjectiveRunner, StderrTailIsBounded) {
  ObjectiveOptions options;
  options.stderr_tail_bytes = 40;
  const ObjectiveResult r = run_objective(
      "i=0; while [ $i -lt 500 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 1", {},
      [](int64_t, double) { return Decision::kContinue; }, options);
  EXPECT_EQ(r.status, ObjectiveStatus::kFailed);
  EXPECT_LT(r.message.size(), 120u) << r.message;
  EXPECT_NE(r.message.find("line 499"), std::string::npos) << r.message;
}

TEST(HpoObjectiveRunner, ReportsReachTheHandlerInOrder) {
  std::vector<std::pair<int64_t, double>> seen;
  const ObjectiveResult r = run_objective(
      "for s in 1 2 3; do echo \"report $s 0.$s\"; done; echo 'report 3 nan'; echo 0.9", {},
      [&](int64_t step, double value) {
        seen.emplace_back(step, value);
        return Decision::kContinue;
      });
  ASSERT_EQ(r.status, ObjectiveStatus::kComplete) << r.message;
  EXPECT_EQ(r.value, 0.9);
  EXPECT_EQ(r.reports, 4);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], std::make_pair(int64_t{1}, 0.1));
  EXPECT_EQ(seen[2], std::make_pair(int64_t{3}, 0.3));
  EXPECT_TRUE(std::isnan(seen[3].second));
}

TEST(HpoObjectiveRunner, PrunedObjectiveIsKilledAndItsLaterSideEffectNeverHappens) {
  ScratchDir dir("hpo_runner");
  const std::string marker = test::shell_quote((dir / "finished").string());
  int calls = 0;
  const auto start = std::chrono::steady_clock::now();
  const ObjectiveResult r = run_objective(
      "echo 'report 1 0.9'; sleep 2; echo 'report 2 0.8'; touch " + marker + "; echo 0.5", {},
      [&](int64_t step, double) {
        ++calls;
        return step >= 1 ? Decision::kPrune : Decision::kContinue;
      });
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.status, ObjectiveStatus::kPruned);
  EXPECT_EQ(r.message, "pruned at step 1 (value 0.9)");
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(calls, 1);
  EXPECT_LT(elapsed, 1.5);  // did not wait for the sleep: compute was saved
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_FALSE(std::filesystem::exists(dir / "finished"));
}

TEST(HpoObjectiveRunner, AnObjectiveIgnoringSigtermIsKilledAfterTheGracePeriod) {
  ScratchDir dir("hpo_runner");
  const std::string marker = test::shell_quote((dir / "finished").string());
  ObjectiveOptions options;
  options.kill_grace_seconds = 0.3;
  const auto start = std::chrono::steady_clock::now();
  const ObjectiveResult r = run_objective(
      "trap '' TERM; echo 'report 1 5'; sleep 2; touch " + marker, {},
      [](int64_t, double) { return Decision::kPrune; }, options);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.status, ObjectiveStatus::kPruned);
  EXPECT_GE(elapsed, 0.3);
  EXPECT_LT(elapsed, 1.5);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_FALSE(std::filesystem::exists(dir / "finished"));
}

TEST(HpoObjectiveRunner, BackgroundJobsLeftBehindDoNotHoldTheTrial) {
  const auto start = std::chrono::steady_clock::now();
  const ObjectiveResult r = run("sleep 30 & echo 0.5");
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.status, ObjectiveStatus::kComplete) << r.message;
  EXPECT_EQ(r.value, 0.5);
  EXPECT_LT(elapsed, 3.0);
}

TEST(HpoObjectiveRunner, ObjectivesRunConcurrentlyFromSeveralThreads) {
  std::vector<ObjectiveResult> results(4);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&results, i] {
      results[static_cast<size_t>(i)] =
          run("sleep 0.5; echo $PIXELREC_PARAM_I", {{"i", int64_t{i}}});
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(results[static_cast<size_t>(i)].value, i);
  EXPECT_LT(elapsed, 1.8);
}

}  // namespace
}  // namespace pixelrec::hpo
