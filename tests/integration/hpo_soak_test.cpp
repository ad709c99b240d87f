// The short soak of the HPO coordinator (bench/hpo_soak_bench.cpp; the long one is in
// docs/benchmarks.md): 8 simulated workers run 100 trials against `pixelrec hpo coordinator`
// while workers die mid-trial, pause past their lease, reconnect with their lease key and fail a
// trial on purpose, and the coordinator is killed with SIGKILL once and resumed. The soak checks
// the study against what every worker was acknowledged; this test reads its trials.csv too:
// every trial number once, each COMPLETE or FAILED with a reason, nothing left running.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "data/csv.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

TEST(HpoSoak, EveryTrialEndsExactlyOnceThroughWorkerFaultsAndACoordinatorKill) {
#ifndef PIXELREC_SOAK_BENCH
  GTEST_SKIP() << "the benchmarks are not built (PIXELREC_BUILD_BENCH=OFF)";
#else
  ScratchDir dir("hpo_soak");
  const CommandResult soak = run_command(shell_quote(PIXELREC_SOAK_BENCH) + " 8 100 1 " +
                                         shell_quote((dir / "soak").string()));
  ASSERT_EQ(soak.exit_code, 0) << soak.output;
  EXPECT_NE(soak.output.find("PASS: every trial COMPLETE exactly once"), std::string::npos)
      << soak.output;
  EXPECT_NE(soak.output.find("killed the coordinator (SIGKILL)"), std::string::npos);
  // Every fault was exercised (workers 0-3 meet one each on their first trial).
  EXPECT_EQ(soak.output.find("faults: 0 worker kills"), std::string::npos) << soak.output;
  EXPECT_EQ(soak.output.find(" 0 pauses"), std::string::npos) << soak.output;
  EXPECT_EQ(soak.output.find("(0 resumed with the lease key"), std::string::npos) << soak.output;

  const fs::path study = dir / "soak" / "results" / "hpo" / "soak";
  const CsvTable trials = read_csv_table(study / "trials.csv");
  ASSERT_EQ(trials.rows(), 100u);
  const auto& number = trials.columns[trials.require_column("number", "trials.csv")];
  const auto& state = trials.columns[trials.require_column("state", "trials.csv")];
  const auto& message = trials.columns[trials.require_column("message", "trials.csv")];
  std::set<int> numbers;
  int complete = 0, failed = 0;
  for (size_t i = 0; i < trials.rows(); ++i) {
    numbers.insert(std::stoi(number[i]));
    if (state[i] == "COMPLETE") {
      ++complete;
    } else {
      EXPECT_EQ(state[i], "FAILED") << "trial " << number[i];
      EXPECT_FALSE(message[i].empty()) << "trial " << number[i] << " FAILED without a reason";
      ++failed;
    }
  }
  EXPECT_EQ(numbers.size(), 100u);
  EXPECT_EQ(*numbers.begin(), 0);
  EXPECT_EQ(*numbers.rbegin(), 99);
  EXPECT_GE(failed, 1);  // worker 3 fails its first trial on purpose
  EXPECT_EQ(complete + failed, 100);
  EXPECT_FALSE(fs::exists(study / "coordinator.json"));  // the resumed coordinator finished
#endif
}

}  // namespace
}  // namespace pixelrec::test
