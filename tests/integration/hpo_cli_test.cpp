// `pixelrec hpo run` end to end with a 2-d quadratic objective written in awk: the search gets
// close to the optimum, the outputs agree with each other, the same seed repeats the study
// exactly, --resume continues a study (also after the run was killed mid-trial), pruning stops
// trials, best_config.yaml is written from a base config, and bad flags are usage errors.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/strings.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

// f(x, y) = (x - 1.5)^2 + (y + 2)^2 + 0.25, minimum 0.25 at (1.5, -2).
constexpr double kOptimum = 0.25;
constexpr const char* kSpace = R"(direction: minimize
search_space:
  x: {type: float, low: -5, high: 5}
  y: {type: float, low: -5, high: 5}
)";
constexpr const char* kObjective = R"(#!/bin/sh
awk -v x="$PIXELREC_PARAM_X" -v y="$PIXELREC_PARAM_Y" \
  'BEGIN { printf "%.12g\n", (x - 1.5) ^ 2 + (y + 2) ^ 2 + 0.25 }'
)";

double quadratic(double x, double y) { return (x - 1.5) * (x - 1.5) + (y + 2) * (y + 2) + 0.25; }

struct QuadraticStudy {
  ScratchDir dir{"hpo_cli"};
  fs::path space = dir / "space.yaml";
  fs::path objective = dir / "objective.sh";
  QuadraticStudy() {
    write_text(space, kSpace);
    write_text(objective, kObjective);
  }
  // `pixelrec hpo run` on the quadratic with its study in `name`/ (storage and outputs).
  // `extra` may replace the default --seed 1 and --storage.
  CommandResult run(const std::string& name, int n_trials, const std::string& extra = "") const {
    const fs::path out = dir / name;
    std::string args = "hpo run --space " + shell_quote(space.string()) + " --objective-cmd " +
                       shell_quote("sh " + shell_quote(objective.string())) + " --n-trials " +
                       std::to_string(n_trials) + " --output-dir " + shell_quote(out.string()) +
                       " " + extra;
    if (extra.find("--seed") == std::string::npos) args += " --seed 1";
    if (extra.find("--storage") == std::string::npos)
      args += " --storage " + shell_quote("sqlite:///" + (out / "study.db").string());
    return run_pixelrec(args);
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (const std::string& line : split(text, '\n'))
    if (!trim(line).empty()) lines.push_back(line);
  return lines;
}

// trials.csv rows as cells, header first.
std::vector<std::vector<std::string>> read_csv_rows(const fs::path& file) {
  std::vector<std::vector<std::string>> rows;
  for (const std::string& line : lines_of(read_text(file))) rows.push_back(split(line, ','));
  return rows;
}

// trials.csv without the columns that legitimately differ between runs (duration, attempt).
std::string comparable_trials(const fs::path& file) {
  std::string out;
  for (const auto& row : read_csv_rows(file)) {
    out += join({row.begin(), row.begin() + 5}, ",") + "|" + row.back() + "\n";
  }
  return out;
}

TEST(HpoCli, TpeFindsTheQuadraticOptimumAndTheOutputsAgree) {
  QuadraticStudy s;
  const CommandResult r = s.run("a", 20);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path out = s.dir / "a";

  const auto rows = read_csv_rows(out / "trials.csv");
  ASSERT_EQ(rows.size(), 21u);  // header + 20 trials
  EXPECT_EQ(rows[0], (std::vector<std::string>{"number", "state", "value", "params_x", "params_y",
                                               "duration_s", "attempt", "message"}));
  double best = INFINITY, startup_best = INFINITY;
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0], std::to_string(i - 1));
    EXPECT_EQ(rows[i][1], "COMPLETE");
    const double value = std::stod(rows[i][2]);
    EXPECT_NEAR(value, quadratic(std::stod(rows[i][3]), std::stod(rows[i][4])), 1e-9);
    EXPECT_GE(std::stod(rows[i][5]), 0.0);
    best = std::min(best, value);
    if (i <= 10) startup_best = std::min(startup_best, value);
  }
  // 10 random start-up trials, then TPE improves on them (measured with seed 1: start-up best
  // 2.71, final best 0.851; f ranges over [0.25, 73] on [-5, 5]^2).
  EXPECT_LT(best, startup_best);
  EXPECT_LT(best - kOptimum, 1.0);

  const auto params = nlohmann::json::parse(read_text(out / "best_params.json"));
  EXPECT_EQ(params["study"], "space");
  EXPECT_EQ(params["direction"], "minimize");
  EXPECT_EQ(params["value"].get<double>(), best);
  const double x = params["params"]["x"], y = params["params"]["y"];
  EXPECT_NEAR(quadratic(x, y), best, 1e-9);

  const std::vector<std::string> lines = lines_of(r.output);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(std::stod(lines.back()), best);
  EXPECT_EQ(lines.back(), rows[params["trial"].get<size_t>() + 1][2]);  // just the number
  EXPECT_NE(r.output.find("best_config.yaml skipped: parameter 'x' is not a config key path"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out / "best_config.yaml"));

  const std::string html = read_text(out / "history.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);  // self-contained
  EXPECT_EQ(html.find("<link"), std::string::npos);
  size_t circles = 0;
  for (size_t p = html.find("<circle"); p != std::string::npos; p = html.find("<circle", p + 1))
    ++circles;
  EXPECT_EQ(circles, 20u);
}

TEST(HpoCli, SameSeedTwiceGivesIdenticalTrialsAndResumeContinuesToN) {
  QuadraticStudy s;
  ASSERT_EQ(s.run("a", 20).exit_code, 0);
  ASSERT_EQ(s.run("b", 20).exit_code, 0);
  const std::string a = comparable_trials(s.dir / "a/trials.csv");
  EXPECT_EQ(a, comparable_trials(s.dir / "b/trials.csv"));

  // A study of 8 trials continued with --resume to 20 is the same study as 20 in one go.
  ASSERT_EQ(s.run("c", 8).exit_code, 0);
  EXPECT_EQ(read_csv_rows(s.dir / "c/trials.csv").size(), 9u);
  const CommandResult again = s.run("c", 20);
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("already has 8 trials; pass --resume"), std::string::npos)
      << again.output;
  const CommandResult resumed = s.run("c", 20, "--resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("20 trials, 12 run now"), std::string::npos) << resumed.output;
  EXPECT_EQ(comparable_trials(s.dir / "c/trials.csv"), a);

  // A different seed gives a different study.
  ASSERT_EQ(s.run("d", 20, "--seed 2").exit_code, 0);
  EXPECT_NE(comparable_trials(s.dir / "d/trials.csv"), a);
}

TEST(HpoCli, ARunKilledMidTrialIsResumedByRerunningTheStaleTrial) {
  QuadraticStudy s;
  ASSERT_EQ(s.run("a", 12).exit_code, 0);
  // The objective's 6th call kills the pixelrec process running it (SIGKILL: no clean-up).
  const fs::path calls = s.dir / "calls", armed = s.dir / "armed";
  write_text(armed, "");
  write_text(
      s.dir / "crashing.sh",
      "#!/bin/sh\necho x >> " + shell_quote(calls.string()) + "\n" + "if [ -e " +
          shell_quote(armed.string()) + " ] && [ $(wc -l < " + shell_quote(calls.string()) +
          ") -eq 6 ]; then\n  rm " + shell_quote(armed.string()) +
          "\n  p=$PPID\n  while [ \"$p\" -gt 1 ] && [ \"$(cat /proc/$p/comm)\" != pixelrec ]; do "
          "p=$(awk '{print $4}' /proc/$p/stat); done\n  [ \"$p\" -gt 1 ] && kill -9 $p\n"
          "  sleep 1\nfi\n" +
          "exec sh " + shell_quote(s.objective.string()) + "\n");
  s.objective = s.dir / "crashing.sh";
  const CommandResult crashed = s.run("k", 12);
  EXPECT_NE(crashed.exit_code, 0) << crashed.output;
  const CommandResult resumed = s.run("k", 12, "--resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("re-ran 1 stale trial(s)"), std::string::npos) << resumed.output;
  const auto rows = read_csv_rows(s.dir / "k/trials.csv");
  ASSERT_EQ(rows.size(), 13u);
  EXPECT_EQ(rows[6][1], "COMPLETE");
  EXPECT_EQ(rows[6][6], "2");  // trial 5: second attempt
  EXPECT_EQ(rows[6][7], "");   // the message describes the final outcome
  EXPECT_EQ(rows[5][6], "1");
  // Same parameters and values as the run that never crashed.
  const auto reference = read_csv_rows(s.dir / "a/trials.csv");
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(std::vector<std::string>(rows[i].begin(), rows[i].begin() + 5),
              std::vector<std::string>(reference[i].begin(), reference[i].begin() + 5));
  }
}

TEST(HpoCli, AshaPrunesTrialsThatReportPoorly) {
  QuadraticStudy s;
  // Reports the value plus 1/step at steps 1..9 (slower the worse the point), then the value.
  write_text(s.dir / "epochs.sh", R"(#!/bin/sh
v=$(sh ")" + s.objective.string() + R"(")
for step in 1 2 3 4 5 6 7 8 9; do
  awk -v v="$v" -v s="$step" 'BEGIN { printf "report %d %.12g\n", s, v + 1 / s }'
  sleep 0.05
done
echo "$v"
)");
  s.objective = s.dir / "epochs.sh";
  const CommandResult r =
      s.run("p", 16, "--pruner asha --asha-max-resource 9 --asha-reduction-factor 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = read_csv_rows(s.dir / "p/trials.csv");
  ASSERT_EQ(rows.size(), 17u);
  int pruned = 0, complete = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    pruned += rows[i][1] == "PRUNED";
    complete += rows[i][1] == "COMPLETE";
    if (rows[i][1] == "PRUNED") {
      EXPECT_TRUE(rows[i][2].empty());
      EXPECT_TRUE(starts_with(rows[i][7], "pruned at step ")) << rows[i][7];
    }
  }
  EXPECT_GT(pruned, 0);
  EXPECT_EQ(pruned + complete, 16);
}

TEST(HpoCli, BestConfigIsTheBaseConfigWithTheWinnersParameters) {
  QuadraticStudy s;
  write_text(s.space, R"(direction: minimize
search_space:
  training.learning_rate: {type: float, low: 0.001, high: 0.1, log: true}
  model.embedding_dim: {type: int, low: 16, high: 128, step: 16}
)");
  write_text(s.objective, R"(#!/bin/sh
awk -v lr="$PIXELREC_PARAM_TRAINING_LEARNING_RATE" -v d="$PIXELREC_PARAM_MODEL_EMBEDDING_DIM" \
  'BEGIN { printf "%.12g\n", (log(lr) - log(0.01)) ^ 2 + (d - 64) ^ 2 / 1000 }'
)");
  write_text(s.dir / "base.yaml", "training:\n  epochs: 7\n");
  const CommandResult r =
      s.run("cfg", 12, "--config " + shell_quote((s.dir / "base.yaml").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto best = nlohmann::json::parse(read_text(s.dir / "cfg/best_params.json"));
  const std::string config = read_text(s.dir / "cfg/best_config.yaml");
  const auto dim = best["params"]["model.embedding_dim"].get<int64_t>();
  EXPECT_NE(config.find("embedding_dim: " + std::to_string(dim) + "\n"), std::string::npos)
      << config;
  EXPECT_NE(config.find("epochs: 7\n"), std::string::npos);  // the base config's value stays
  const size_t lr_at = config.find("learning_rate: ");
  ASSERT_NE(lr_at, std::string::npos);
  EXPECT_DOUBLE_EQ(std::stod(config.substr(lr_at + 15)),
                   best["params"]["training.learning_rate"].get<double>());
}

TEST(HpoCli, BadFlagsAreUsageErrors) {
  QuadraticStudy s;
  const CommandResult storage = s.run("u", 3, "--storage postgresql://db/x");
  EXPECT_EQ(storage.exit_code, 2) << storage.output;
  EXPECT_NE(storage.output.find("only SQLite is supported"), std::string::npos) << storage.output;
  const CommandResult asha = s.run("u", 3, "--pruner asha");
  EXPECT_EQ(asha.exit_code, 2);
  EXPECT_NE(asha.output.find("--pruner asha needs --asha-max-resource"), std::string::npos)
      << asha.output;
  const CommandResult stray = s.run("u", 3, "--asha-max-resource 9");
  EXPECT_EQ(stray.exit_code, 2);
  EXPECT_NE(stray.output.find("apply only to --pruner asha"), std::string::npos) << stray.output;
  const CommandResult sampler = s.run("u", 3, "--sampler grid");
  EXPECT_EQ(sampler.exit_code, 2);
}

TEST(HpoCli, AllTrialsFailingExitsWithTheReasonsRecorded) {
  QuadraticStudy s;
  write_text(s.objective, "#!/bin/sh\necho 'no GPU found' >&2\nexit 4\n");
  const CommandResult r = s.run("f", 3);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no trial completed"), std::string::npos) << r.output;
  const auto rows = read_csv_rows(s.dir / "f/trials.csv");
  ASSERT_EQ(rows.size(), 4u);
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][1], "FAILED");
    EXPECT_EQ(rows[i][7], "objective exited with status 4; stderr: no GPU found");
  }
  EXPECT_FALSE(fs::exists(s.dir / "f/best_params.json"));
}

TEST(HpoCli, ParallelRunsGiveTheSameTrialsAsTheSameParallelismAgain) {
  QuadraticStudy s;
  const CommandResult a = s.run("a", 14, "--parallel 3");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const CommandResult b = s.run("b", 14, "--parallel 3");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_EQ(comparable_trials(s.dir / "a/trials.csv"), comparable_trials(s.dir / "b/trials.csv"));
  EXPECT_EQ(read_csv_rows(s.dir / "a/trials.csv").size(), 15u);
}

}  // namespace
}  // namespace pixelrec::test
