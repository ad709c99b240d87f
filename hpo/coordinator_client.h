// The worker side of the coordinator protocol: a blocking client for the rank 0 of a worker group.
// Connect (retrying until a deadline), then loop: lease() a trial, report() each epoch's
// validation value (answered continue / prune / cancel), finish() it; evaluate the best trial on
// test when asked (send_evaluation); stop at `done`. A background thread renews the lease of the
// current trial every heartbeat_seconds. All calls share one connection, one request at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "hpo/study.h"

namespace pixelrec::hpo {

struct ClientOptions {
  std::string address;  // "host:port" of the coordinator (see read_coordinator_endpoint)
  std::string token;    // the study's shared token
  std::string worker;   // "host:pid"; empty: default_worker_name()
  int64_t ranks = 1;    // processes in this worker group (informational)
  // connect() retries (the coordinator may still be starting) until this much time has passed.
  std::chrono::milliseconds connect_deadline{60'000};
  // A reply that takes longer is an error (the coordinator is gone or stuck).
  std::chrono::milliseconds reply_timeout{120'000};
};

// What the coordinator says after hello.
struct Welcome {
  std::string study;
  Direction direction = Direction::kMaximize;
  std::string metric;  // the validation metric to report and optimise
  std::chrono::milliseconds heartbeat{10'000};
  std::chrono::milliseconds lease{60'000};
};

// lease() answers: run this trial (TrialTicket: number, params, attempt; resume from its last
// checkpoint when attempt > 1), wait and ask again, evaluate the best trial on test, or stop.
struct WaitReply {
  std::chrono::milliseconds retry_after{0};
};
struct EvaluateRequest {
  int64_t trial = 0;
  ParamMap params;
};
struct StudyDone {};
using LeaseReply = std::variant<TrialTicket, WaitReply, EvaluateRequest, StudyDone>;

// report() answers. kCancel: the lease was lost (the trial was requeued): stop the trial and do
// not finish() it.
enum class ReportReply { kContinue, kPrune, kCancel };

// Where a running coordinator listens, from its study folder.
struct CoordinatorEndpoint {
  std::string address;  // host:port
  std::string token;
};

// Reads <study_dir>/coordinator.json and <study_dir>/coordinator.token. Throws Error naming the
// file when the coordinator has not written them.
CoordinatorEndpoint read_coordinator_endpoint(const std::filesystem::path& study_dir);

// "<hostname>:<pid>".
std::string default_worker_name();

class CoordinatorClient {
 public:
  // Connects and says hello; retries refused connections until options.connect_deadline. Throws
  // Error with the address and the cause (wrong token, unreachable, protocol error).
  explicit CoordinatorClient(ClientOptions options);
  ~CoordinatorClient();  // stops the heartbeat thread and closes the connection
  CoordinatorClient(const CoordinatorClient&) = delete;
  CoordinatorClient& operator=(const CoordinatorClient&) = delete;

  const Welcome& welcome() const { return welcome_; }
  const std::string& address() const { return options_.address; }

  LeaseReply lease();
  ReportReply report(int64_t trial, int64_t attempt, int64_t step, double value);
  // Ends the trial: COMPLETE with its value, PRUNED, or FAILED with a message. False (logged) when
  // this attempt had lost its lease: the coordinator recorded the finish and did not apply it.
  bool finish(int64_t trial, int64_t attempt, const TrialOutcome& outcome);
  // The test metrics of the best trial (after an EvaluateRequest), or why evaluating it failed.
  // False (logged) when the evaluation's lease was lost: recorded, not applied.
  bool send_evaluation(int64_t trial, const nlohmann::json& metrics);
  bool send_evaluation_error(int64_t trial, const std::string& error);
  // One heartbeat now; false when the coordinator answered cancel (the lease was lost).
  bool heartbeat(int64_t trial);

  // Renews the lease of `trial` (or of the evaluation of `trial`) every welcome().heartbeat on a
  // background thread until stop_heartbeat(). A cancel answer sets cancelled().
  void start_heartbeat(int64_t trial);
  void stop_heartbeat();
  bool cancelled() const { return cancelled_.load(); }

 private:
  void connect_with_retries();
  void open_socket();
  void close_socket();
  // Sends one message and reads its reply under the request mutex; throws Error on `error`.
  nlohmann::json request(const nlohmann::json& message);
  std::string read_line();
  [[noreturn]] void fail(const std::string& what) const;
  // ok → true; cancel (the lease was lost) → false, logged with the coordinator's reason.
  bool accepted(const nlohmann::json& reply, const std::string& what) const;
  void heartbeat_loop();

  ClientOptions options_;
  Welcome welcome_;
  int fd_ = -1;
  std::string pending_;  // bytes received after the last reply line
  std::mutex request_mutex_;

  std::thread heartbeat_thread_;
  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_changed_;
  std::optional<int64_t> heartbeat_trial_;
  bool heartbeat_stop_ = false;
  std::atomic<bool> cancelled_{false};
};

}  // namespace pixelrec::hpo
