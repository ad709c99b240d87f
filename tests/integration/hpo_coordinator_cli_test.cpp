// `pixelrec hpo coordinator` as a child process, driven by a worker written here over raw TCP +
// JSON (this binary does not link the hpo library): the coordinator is killed with SIGKILL in
// the middle of the study and restarted with --resume; every trial number 0..n-1 ends exactly
// once COMPLETE or PRUNED, the interrupted trial runs again as attempt 2, and the ASHA decisions
// and trial parameters equal those of a run that was never interrupted. Also the honest exits:
// an unwritable output or a failed test evaluation ends the coordinator with a non-zero status.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "data/csv.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kTrials = 8;

std::string config_yaml(const fs::path& results) {
  return "results_dir: " + results.string() + R"(
hyperparameter_search:
  study_name: it
  n_trials: 8
  sampler: random
  seed: 5
  pruner: asha
  direction: minimize
  asha: {min_resource: 1, max_resource: 9, reduction_factor: 3}
  search_space:
    training.learning_rate: {type: float, low: 0.0001, high: 0.1, log: true}
  coordinator: {port: 0, lease_seconds: 20, heartbeat_seconds: 5}
)";
}

// The objective at epoch `step`: best near lr = 0.01, improving with epochs.
double objective(double lr, int64_t step) {
  return std::fabs(std::log10(lr) + 2.0) + 1.0 / static_cast<double>(step);
}

// The coordinator child process (its stdout and stderr in files).
class Coordinator {
 public:
  Coordinator(const fs::path& config, const fs::path& out, bool resume) {
    const std::string cmd = "exec " + shell_quote(PIXELREC_BIN) + " hpo coordinator -c " +
                            shell_quote(config.string()) + (resume ? " --resume" : "") + " > " +
                            shell_quote(out.string() + ".stdout") + " 2> " +
                            shell_quote(out.string() + ".stderr");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Coordinator() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait_exit();
    }
  }
  void kill9() {
    ASSERT_EQ(::kill(pid_, SIGKILL), 0);
    EXPECT_EQ(wait_exit(), 128 + SIGKILL);
  }
  // Exit status (128 + signal when killed).
  int wait_exit() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

// Waits for coordinator.json; returns (port, token).
std::pair<int, std::string> discover(const fs::path& study_dir) {
  for (int i = 0; i < 600 && !fs::exists(study_dir / "coordinator.json"); ++i)
    std::this_thread::sleep_for(50ms);
  const json info = json::parse(read_text(study_dir / "coordinator.json"));
  std::string token = read_text(study_dir / "coordinator.token");
  while (!token.empty() && token.back() == '\n') token.pop_back();
  return {info.at("port").get<int>(), token};
}

// One protocol connection.
class Wire {
 public:
  explicit Wire(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~Wire() { ::close(fd_); }
  json ask(json m) {
    m["v"] = 1;
    const std::string line = m.dump() + "\n";
    EXPECT_EQ(::send(fd_, line.data(), line.size(), MSG_NOSIGNAL), ssize_t(line.size()));
    while (buffer_.find('\n') == std::string::npos) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 30000) <= 0) return {{"type", "timeout"}};
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return {{"type", "closed"}};
      buffer_.append(buf, size_t(n));
    }
    const size_t nl = buffer_.find('\n');
    const json reply = json::parse(buffer_.substr(0, nl));
    buffer_.erase(0, nl + 1);
    return reply;
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

// What the worker saw: decisions per (trial, step), parameters per trial, attempts per trial.
struct Observed {
  std::map<std::pair<int64_t, int64_t>, std::string> decisions;
  std::map<int64_t, json> params;
  std::map<int64_t, int64_t> last_attempt;
  std::map<int64_t, int64_t> next_step;  // the "checkpoint": epochs already done
  int evaluations = 0;
};

// Serves one coordinator until `done`, or until `stop_after` trials finished and the next one
// reported once (then returns false, leaving that trial RUNNING). A non-empty
// `evaluation_error` is sent instead of the best trial's test metrics.
bool work(int port, const std::string& token, Observed& seen, int stop_after = -1,
          const std::string& evaluation_error = "") {
  Wire wire(port);
  json welcome = wire.ask({{"type", "hello"}, {"token", token}, {"worker", "it:1"}, {"ranks", 1}});
  EXPECT_EQ(welcome["type"], "welcome") << welcome.dump();
  int finished = 0;
  while (true) {
    const json lease = wire.ask({{"type", "lease"}});
    const std::string type = lease.at("type");
    if (type == "done") return true;
    if (type == "wait") {
      std::this_thread::sleep_for(std::chrono::milliseconds(lease.at("retry_after_ms").get<int>()));
      continue;
    }
    if (type == "evaluate") {
      ++seen.evaluations;
      json evaluation = {{"type", "evaluation"}, {"trial", lease["trial"]}};
      if (evaluation_error.empty())
        evaluation["metrics"] = {{"ndcg@10", 0.5}};
      else
        evaluation["error"] = evaluation_error;
      EXPECT_EQ(wire.ask(evaluation)["type"], "ok");
      continue;
    }
    EXPECT_EQ(type, "trial") << lease.dump();
    if (type != "trial") return false;
    const int64_t trial = lease.at("trial"), attempt = lease.at("attempt");
    const double lr = lease.at("params").at("training.learning_rate");
    if (seen.params.count(trial)) {
      EXPECT_EQ(seen.params[trial], lease["params"]);  // a requeued trial keeps its parameters
    }
    seen.params[trial] = lease["params"];
    seen.last_attempt[trial] = attempt;
    bool pruned = false;
    for (int64_t step = seen.next_step[trial] + 1; step <= 3 && !pruned; ++step) {
      const json reply = wire.ask({{"type", "report"},
                                   {"trial", trial},
                                   {"attempt", attempt},
                                   {"step", step},
                                   {"value", objective(lr, step)}});
      seen.decisions.emplace(std::make_pair(trial, step), reply.at("type"));
      pruned = reply.at("type") == "prune";
      if (!pruned) seen.next_step[trial] = step;
      if (finished == stop_after) return false;  // the coordinator is killed now
    }
    const json end =
        pruned
            ? json{{"type", "finish"}, {"trial", trial}, {"attempt", attempt}, {"state", "pruned"}}
            : json{{"type", "finish"},
                   {"trial", trial},
                   {"attempt", attempt},
                   {"state", "complete"},
                   {"value", objective(lr, 3)}};
    EXPECT_EQ(wire.ask(end)["type"], "ok");
    ++finished;
  }
}

std::string last_line(const std::string& text) {
  std::string last;
  for (const std::string& line : split(text, '\n'))
    if (!trim(line).empty()) last = line;
  return last;
}

TEST(HpoCoordinatorCli, SurvivesKillDashNineAndResumesWithTheSameDecisions) {
  ScratchDir dir("hpo_coord_cli");
  // The reference: a study that is never interrupted.
  Observed reference;
  {
    write_text(dir / "ref.yaml", config_yaml(dir / "ref"));
    Coordinator c(dir / "ref.yaml", dir / "ref", false);
    const auto [port, token] = discover(dir / "ref" / "hpo" / "it");
    EXPECT_TRUE(work(port, token, reference));
    EXPECT_EQ(c.wait_exit(), 0) << read_text(dir / "ref.stderr");
  }
  // The same study, its coordinator killed with trial 4 RUNNING, then resumed.
  const fs::path study = dir / "run" / "hpo" / "it";
  write_text(dir / "run.yaml", config_yaml(dir / "run"));
  Observed seen;
  {
    Coordinator c(dir / "run.yaml", dir / "run1", false);
    const auto [port, token] = discover(study);
    EXPECT_FALSE(work(port, token, seen, /*stop_after=*/4));
    c.kill9();
  }
  fs::remove(study / "coordinator.json");  // left behind by the killed coordinator
  Coordinator c(dir / "run.yaml", dir / "run2", true);
  const auto [port, token] = discover(study);
  EXPECT_TRUE(work(port, token, seen));
  EXPECT_EQ(c.wait_exit(), 0) << read_text(dir / "run2.stderr");

  EXPECT_EQ(seen.decisions, reference.decisions);
  EXPECT_EQ(seen.params, reference.params);
  EXPECT_EQ(seen.last_attempt.at(4), 2);
  EXPECT_EQ(seen.evaluations, 1);
  EXPECT_EQ(reference.evaluations, 1);
  const CsvTable trials = read_csv_table(study / "trials.csv");
  ASSERT_EQ(trials.rows(), size_t(kTrials));
  const auto& number = trials.columns[trials.require_column("number", "trials.csv")];
  const auto& state = trials.columns[trials.require_column("state", "trials.csv")];
  const auto& attempt = trials.columns[trials.require_column("attempt", "trials.csv")];
  std::set<std::string> numbers(number.begin(), number.end());
  for (size_t i = 0; i < trials.rows(); ++i) {
    EXPECT_TRUE(state[i] == "COMPLETE" || state[i] == "PRUNED") << state[i];
    EXPECT_EQ(attempt[i], number[i] == "4" ? "2" : "1");
  }
  EXPECT_EQ(numbers, (std::set<std::string>{"0", "1", "2", "3", "4", "5", "6", "7"}));
  // The last stdout line is the best value, equal in both runs.
  const std::string best = last_line(read_text(dir / "run2.stdout"));
  EXPECT_EQ(best, last_line(read_text(dir / "ref.stdout")));
  const json best_params = json::parse(read_text(study / "best_params.json"));
  EXPECT_DOUBLE_EQ(std::stod(best), best_params.at("value").get<double>());
  EXPECT_NE(read_text(dir / "run2.stderr").find("listening on 127.0.0.1:"), std::string::npos);
  const json metrics = json::parse(read_text(study / "best_test_metrics.json"));
  EXPECT_EQ(metrics.at("metrics"), json({{"ndcg@10", 0.5}}));
}

// Honest exits: an output the coordinator cannot write makes it exit non-zero naming the file
// (the study is stored; --resume writes the outputs once the cause is fixed).
TEST(HpoCoordinatorCli, ExitsNonZeroNamingAnOutputItCannotWrite) {
  ScratchDir dir("hpo_coord_cli_outputs");
  const fs::path study = dir / "run" / "hpo" / "it";
  write_text(dir / "run.yaml", config_yaml(dir / "run"));
  fs::create_directories(study / "history.html" / "occupied");  // no file can be renamed there
  Observed seen;
  {
    Coordinator c(dir / "run.yaml", dir / "run1", false);
    const auto [port, token] = discover(study);
    EXPECT_TRUE(work(port, token, seen));
    EXPECT_EQ(c.wait_exit(), 1);
  }
  const std::string stderr_text = read_text(dir / "run1.stderr");
  EXPECT_NE(stderr_text.find((study / "history.html").string()), std::string::npos) << stderr_text;
  EXPECT_NE(stderr_text.find("--resume"), std::string::npos) << stderr_text;
  EXPECT_FALSE(fs::exists(study / "coordinator.json"));  // nobody listens

  fs::remove_all(study / "history.html");
  Coordinator again(dir / "run.yaml", dir / "run2", true);
  EXPECT_EQ(again.wait_exit(), 0) << read_text(dir / "run2.stderr");
  EXPECT_TRUE(fs::is_regular_file(study / "history.html"));
  EXPECT_EQ(json::parse(read_text(study / "best_test_metrics.json")).at("metrics"),
            json({{"ndcg@10", 0.5}}));
}

// A test evaluation that failed on its worker is reported as an error: stored and written as
// "error" (never as metrics), and the coordinator exits non-zero saying so.
TEST(HpoCoordinatorCli, AFailedTestEvaluationExitsNonZeroWithItsError) {
  ScratchDir dir("hpo_coord_cli_eval_error");
  const fs::path study = dir / "run" / "hpo" / "it";
  write_text(dir / "run.yaml", config_yaml(dir / "run"));
  Observed seen;
  Coordinator c(dir / "run.yaml", dir / "run", false);
  const auto [port, token] = discover(study);
  EXPECT_TRUE(work(port, token, seen, -1, "CUDA out of memory while scoring the catalogue"));
  EXPECT_EQ(c.wait_exit(), 1);
  const std::string stderr_text = read_text(dir / "run.stderr");
  EXPECT_NE(stderr_text.find("the test evaluation of best trial"), std::string::npos)
      << stderr_text;
  EXPECT_NE(stderr_text.find("CUDA out of memory while scoring the catalogue"), std::string::npos);
  const json written = json::parse(read_text(study / "best_test_metrics.json"));
  EXPECT_FALSE(written.contains("metrics")) << written.dump();
  EXPECT_EQ(written.at("error"), "CUDA out of memory while scoring the catalogue");
  // The search's own outputs are there, and stdout still ends with the best value.
  const json best = json::parse(read_text(study / "best_params.json"));
  EXPECT_DOUBLE_EQ(std::stod(last_line(read_text(dir / "run.stdout"))),
                   best.at("value").get<double>());
}

}  // namespace
}  // namespace pixelrec::test
