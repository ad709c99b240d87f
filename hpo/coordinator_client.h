// The worker side of the coordinator protocol: a blocking client for the rank 0 of a worker group.
// Connect (retrying until a deadline), then loop: lease() a trial, report() each epoch's
// validation value (answered continue / prune / cancel), finish() it, or release() it back to the
// queue (pre-empted); evaluate the best trial on test when asked (send_evaluation); stop at
// `done`. A background thread renews the lease of the current trial every heartbeat_seconds, with
// the training progress, and stops renewing when training stalls. All calls share one
// connection, one request at a time; after a lost connection, reconnect() starts a new one, and
// since every message about a trial carries the lease_key it was handed out with, the lease
// follows the worker onto it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "hpo/study.h"

namespace pixelrec::hpo {

// Where a running coordinator listens, from its study folder.
struct CoordinatorEndpoint {
  std::string address;  // host:port
  std::string token;
};

struct ClientOptions {
  std::string address;  // "host:port" of the coordinator (see read_coordinator_endpoint)
  std::string token;    // the study's shared token
  // When set, called before every connection attempt for the address and token (a coordinator
  // restarted with --resume listens on a new port with a new token); an Error it throws is
  // retried like a refused connection, except StudyAlreadyFinished, which ends the attempts.
  std::function<CoordinatorEndpoint()> rediscover;
  std::string worker;  // "host:pid"; empty: default_worker_name()
  int64_t ranks = 1;   // processes in this worker group (informational)
  // connect() retries (the coordinator may still be starting) until this much time has passed.
  std::chrono::milliseconds connect_deadline{60'000};
  // Polled between connection attempts: true gives up at once (e.g. a signal asked the worker to
  // leave).
  std::function<bool()> interrupted;
  // A reply that takes longer is an error (the coordinator is gone or stuck).
  std::chrono::milliseconds reply_timeout{120'000};
  // A trial whose training made no progress (note_progress) for this long stops being renewed,
  // so its lease expires and the trial runs elsewhere; 0: never.
  std::chrono::milliseconds stall_timeout{0};
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
  // Gives the trial back unfinished (pre-empted; its checkpoint holds the progress): the
  // coordinator requeues it at once, and the release does not count towards max_attempts. False
  // (logged) when this attempt had lost its lease: recorded, not applied.
  bool release(int64_t trial, int64_t attempt, const std::string& message);
  // The test metrics of the best trial (after an EvaluateRequest), or why evaluating it failed.
  // False (logged) when the evaluation's lease was lost: recorded, not applied.
  bool send_evaluation(int64_t trial, const nlohmann::json& metrics);
  bool send_evaluation_error(int64_t trial, const std::string& error);
  // One heartbeat now; false when the coordinator answered cancel (the lease was lost).
  bool heartbeat(int64_t trial);

  // Renews the lease of `trial` (or of the evaluation of `trial`) every welcome().heartbeat on a
  // background thread until stop_heartbeat(). A cancel answer sets cancelled(). With
  // watch_progress, each heartbeat carries the progress noted so far, and once none was noted
  // for options.stall_timeout the renewals stop and stalled() is set.
  void start_heartbeat(int64_t trial, bool watch_progress = false);
  void stop_heartbeat();
  bool cancelled() const { return cancelled_.load(); }
  // Training moved: `step` optimizer steps are done (called from the training thread).
  void note_progress(int64_t step);
  bool stalled() const { return stalled_.load(); }

  // A request failed: the connection is closed and every request fails until reconnect().
  bool lost() const { return lost_.load(); }
  // Stops the heartbeat, closes the connection and connects again (rediscovering the endpoint
  // when options.rediscover is set) until options.connect_deadline; throws Error as the
  // constructor does. The lease keys received so far are kept: every message about a trial (or its
  // evaluation) carries its lease_key, which moves the lease to the new connection.
  void reconnect();

 private:
  void connect_with_retries();  // with request_mutex_ held
  void open_socket();
  void close_socket();
  // Sends one message and reads its reply under the request mutex; throws Error on `error`.
  nlohmann::json request(const nlohmann::json& message);
  nlohmann::json request_locked(const nlohmann::json& message);
  std::string read_line();
  [[noreturn]] void fail(const std::string& what) const;
  // ok → true; cancel (the lease was lost) → false, logged with the coordinator's reason.
  bool accepted(const nlohmann::json& reply, const std::string& what) const;
  // The lease_key of the trial (or evaluation) a trial/evaluate reply handed out, remembered.
  void remember_lease_key(int64_t trial, const nlohmann::json& reply);
  // Adds the remembered lease_key of `trial` to `m` (when there is one).
  void add_lease_key(nlohmann::json& m, int64_t trial);
  void forget_lease_key(int64_t trial);
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
  std::atomic<bool> watch_progress_{false};
  std::atomic<bool> cancelled_{false}, stalled_{false}, lost_{false};
  std::atomic<int64_t> progress_step_{0};
  std::atomic<int64_t> progress_at_ms_{0};  // steady clock, when progress was last noted

  std::mutex lease_keys_mutex_;                // the heartbeat thread reads them too
  std::map<int64_t, std::string> lease_keys_;  // trial → the lease_key of its current lease
};

}  // namespace pixelrec::hpo
