#include "hpo/coordinator_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>

#include "core/errors.h"
#include "core/files.h"
#include "core/host.h"
#include "core/logging.h"
#include "hpo/protocol.h"
#include "hpo/study_finished_marker.h"

namespace pixelrec::hpo {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr size_t kMaxReplyBytes = 64u << 20;

std::chrono::milliseconds from_seconds(double s) {
  if (!std::isfinite(s)) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(s * 1000.0)));
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// "host:port" → (host, port); the host may be a bracketed IPv6 address.
std::pair<std::string, std::string> split_address(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    throw UsageError("coordinator address '" + address + "' is not HOST:PORT (e.g. node1:5555)");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, address.substr(colon + 1)};
}

// Connection refused / unreachable: the coordinator may not be listening yet.
class Retryable : public Error {
 public:
  using Error::Error;
};

}  // namespace

CoordinatorEndpoint read_coordinator_endpoint(const std::filesystem::path& study_dir) {
  const std::filesystem::path info = study_dir / "coordinator.json";
  const json j = json::parse(read_file(info, "coordinator discovery file"), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("host") || !j.contains("port") ||
      !j["host"].is_string() || !j["port"].is_number_integer()) {
    throw Error(info.string() +
                ": not a coordinator discovery file ({\"host\", \"port\", \"pid\", \"version\"}); "
                "start the coordinator with pixelrec hpo coordinator");
  }
  std::string token = read_file(study_dir / "coordinator.token", "coordinator token file");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return {j["host"].get<std::string>() + ":" + std::to_string(j["port"].get<int64_t>()), token};
}

std::string default_worker_name() { return host_name() + ":" + std::to_string(::getpid()); }

CoordinatorClient::CoordinatorClient(ClientOptions options) : options_(std::move(options)) {
  if (options_.worker.empty()) options_.worker = default_worker_name();
  if (options_.ranks < 1) throw UsageError("a worker group has at least 1 rank");
  std::lock_guard lock(request_mutex_);
  connect_with_retries();
}

void CoordinatorClient::reconnect() {
  stop_heartbeat();
  std::lock_guard lock(request_mutex_);  // a heartbeat in flight finishes first
  close_socket();
  connect_with_retries();
  lost_ = false;
  cancelled_ = false;
}

CoordinatorClient::~CoordinatorClient() {
  {
    std::lock_guard lock(heartbeat_mutex_);
    heartbeat_stop_ = true;
  }
  heartbeat_changed_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  close_socket();
}

void CoordinatorClient::fail(const std::string& what) const {
  throw Error("coordinator " + options_.address + ": " + what);
}

void CoordinatorClient::close_socket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  pending_.clear();
}

void CoordinatorClient::open_socket() {
  const auto [host, port] = split_address(options_.address);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw Retryable("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
      break;
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (fd_ < 0) throw Retryable("cannot connect: " + last_error);
}

void CoordinatorClient::connect_with_retries() {
  const Clock::time_point deadline = Clock::now() + options_.connect_deadline;
  std::chrono::milliseconds pause(50);
  while (true) {
    try {
      if (options_.rediscover) {
        try {
          const CoordinatorEndpoint endpoint = options_.rediscover();
          options_.address = endpoint.address;
          options_.token = endpoint.token;
        } catch (const StudyAlreadyFinished&) {
          throw;                    // no coordinator will come: nothing to retry
        } catch (const Error& e) {  // not written yet, or being rewritten by a new coordinator
          throw Retryable(e.what());
        }
      }
      open_socket();
      break;
    } catch (const Retryable& e) {
      if (options_.interrupted && options_.interrupted())
        fail(std::string(e.what()) + " (gave up: interrupted)");
      if (Clock::now() + pause >= deadline) {
        fail(std::string(e.what()) + " (retried for " +
             std::to_string(options_.connect_deadline.count() / 1000) +
             " s); check that pixelrec hpo coordinator runs and the address in its "
             "coordinator.json");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
  }
  json hello = protocol::make("hello");
  hello["token"] = options_.token;
  hello["worker"] = options_.worker;
  hello["ranks"] = options_.ranks;
  const json reply = request_locked(hello);
  if (protocol::type_of(reply) != "welcome") fail("answered hello with " + reply.dump());
  try {
    welcome_.study = protocol::get_string(reply, "study");
    welcome_.direction = parse_direction(protocol::get_string(reply, "direction"), "welcome");
    welcome_.metric = protocol::get_string(reply, "metric");
    // At least 10 ms: a zero or NaN period would make the heartbeat thread spin.
    welcome_.heartbeat =
        std::max(from_seconds(protocol::get_number_or_nan(reply, "heartbeat_seconds")),
                 std::chrono::milliseconds(10));
    welcome_.lease = from_seconds(protocol::get_number_or_nan(reply, "lease_seconds"));
  } catch (const Error& e) {
    fail(std::string("bad welcome: ") + e.what());
  }
}

std::string CoordinatorClient::read_line() {
  const Clock::time_point deadline = Clock::now() + options_.reply_timeout;
  while (true) {
    if (const size_t newline = pending_.find('\n'); newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    if (pending_.size() > kMaxReplyBytes) fail("sent a reply longer than 64 MiB");
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      fail("no reply within " + std::to_string(options_.reply_timeout.count()) +
           " ms; the coordinator is stuck or unreachable");
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) fail(std::string("poll failed: ") + std::strerror(errno));
    if (ready == 0) continue;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(std::string("receive failed: ") + std::strerror(errno));
    if (n == 0) fail("closed the connection");
    pending_.append(buf, static_cast<size_t>(n));
  }
}

json CoordinatorClient::request(const json& message) {
  std::lock_guard lock(request_mutex_);
  return request_locked(message);
}

json CoordinatorClient::request_locked(const json& message) {
  if (fd_ < 0) {
    lost_ = true;
    fail("not connected (an earlier request failed)");
  }
  const std::string line = protocol::encode(message);
  try {
    for (size_t sent = 0; sent < line.size();) {
      const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(std::string("send failed: ") + std::strerror(errno));
      sent += static_cast<size_t>(n);
    }
    json reply;
    try {
      reply = protocol::parse_line(read_line());
    } catch (const protocol::ProtocolError& e) {
      fail(std::string("sent a malformed reply: ") + e.what());
    }
    if (protocol::type_of(reply) == "error") {
      const std::string code = reply.value("code", std::string("?"));
      const std::string text = reply.value("message", std::string());
      fail("answered '" + protocol::type_of(message) + "' with error " + code + ": " + text);
    }
    return reply;
  } catch (const Error&) {
    close_socket();  // the stream may be out of step: no further request on it
    lost_ = true;
    throw;
  }
}

LeaseReply CoordinatorClient::lease() {
  const json reply = request(protocol::make("lease"));
  const std::string& type = protocol::type_of(reply);
  try {
    if (type == "trial") {
      remember_lease_key(protocol::get_int(reply, "trial"), reply);
      return TrialTicket{protocol::get_int(reply, "trial"),
                         params_from_json(protocol::get_object(reply, "params")),
                         protocol::get_int(reply, "attempt")};
    }
    if (type == "wait") {
      return WaitReply{std::chrono::milliseconds(protocol::get_int(reply, "retry_after_ms"))};
    }
    if (type == "evaluate") {
      remember_lease_key(protocol::get_int(reply, "trial"), reply);
      return EvaluateRequest{protocol::get_int(reply, "trial"),
                             params_from_json(protocol::get_object(reply, "params"))};
    }
    if (type == "done") return StudyDone{};
  } catch (const Error& e) {
    fail("bad '" + type + "' answer: " + e.what());
  }
  fail("answered lease with '" + type + "'");
}

ReportReply CoordinatorClient::report(int64_t trial, int64_t attempt, int64_t step, double value) {
  json m = protocol::make("report");
  m["trial"] = trial;
  m["attempt"] = attempt;
  m["step"] = step;
  m["value"] = value;  // NaN is written as null
  add_lease_key(m, trial);
  const std::string type = protocol::type_of(request(m));
  if (type == "continue") return ReportReply::kContinue;
  if (type == "prune") return ReportReply::kPrune;
  if (type == "cancel") return ReportReply::kCancel;
  fail("answered report with '" + type + "'");
}

bool CoordinatorClient::accepted(const json& reply, const std::string& what) const {
  const std::string& type = protocol::type_of(reply);
  if (type == "ok") return true;
  if (type != "cancel") fail("answered " + what + " with '" + type + "'");
  spdlog::warn("coordinator {}: {} not applied: {}", options_.address, what,
               reply.value("message", std::string("the lease was lost")));
  return false;
}

void CoordinatorClient::remember_lease_key(int64_t trial, const json& reply) {
  std::lock_guard lock(lease_keys_mutex_);
  if (reply.contains("lease_key"))
    lease_keys_[trial] = protocol::get_string(reply, "lease_key");
  else
    lease_keys_.erase(trial);
}

void CoordinatorClient::add_lease_key(json& m, int64_t trial) {
  std::lock_guard lock(lease_keys_mutex_);
  if (const auto it = lease_keys_.find(trial); it != lease_keys_.end()) m["lease_key"] = it->second;
}

void CoordinatorClient::forget_lease_key(int64_t trial) {
  std::lock_guard lock(lease_keys_mutex_);
  lease_keys_.erase(trial);
}

bool CoordinatorClient::finish(int64_t trial, int64_t attempt, const TrialOutcome& outcome) {
  json m = protocol::make("finish");
  m["trial"] = trial;
  m["attempt"] = attempt;
  switch (outcome.state) {
    case TrialState::kComplete:
      m["state"] = "complete";
      m["value"] = outcome.value.value_or(std::nan(""));
      break;
    case TrialState::kPruned:
      m["state"] = "pruned";
      break;
    case TrialState::kFailed:
      m["state"] = "failed";
      break;
    default:
      throw InternalError("finish() takes a COMPLETE, PRUNED or FAILED outcome");
  }
  if (!outcome.message.empty()) m["message"] = outcome.message;
  add_lease_key(m, trial);
  const bool applied = accepted(request(m), "finish of trial " + std::to_string(trial));
  forget_lease_key(trial);  // the lease ended either way (a lost connection threw: kept)
  return applied;
}

bool CoordinatorClient::release(int64_t trial, int64_t attempt, const std::string& message) {
  json m = protocol::make("release");
  m["trial"] = trial;
  m["attempt"] = attempt;
  m["message"] = message;
  add_lease_key(m, trial);
  const bool applied = accepted(request(m), "release of trial " + std::to_string(trial));
  forget_lease_key(trial);
  return applied;
}

bool CoordinatorClient::send_evaluation(int64_t trial, const json& metrics) {
  if (!metrics.is_object()) throw InternalError("evaluation metrics must be a JSON object");
  json m = protocol::make("evaluation");
  m["trial"] = trial;
  m["metrics"] = metrics;
  add_lease_key(m, trial);
  const bool applied = accepted(request(m), "evaluation of trial " + std::to_string(trial));
  forget_lease_key(trial);
  return applied;
}

bool CoordinatorClient::send_evaluation_error(int64_t trial, const std::string& error) {
  json m = protocol::make("evaluation");
  m["trial"] = trial;
  m["error"] = error.empty() ? std::string("failed (no message)") : error;
  add_lease_key(m, trial);
  const bool applied = accepted(request(m), "evaluation error of trial " + std::to_string(trial));
  forget_lease_key(trial);
  return applied;
}

bool CoordinatorClient::heartbeat(int64_t trial) {
  json m = protocol::make("heartbeat");
  m["trial"] = trial;
  if (watch_progress_) {  // optional fields: the training progress behind this renewal
    m["step"] = progress_step_.load();
    m["idle_seconds"] = double(steady_ms() - progress_at_ms_.load()) / 1000.0;
  }
  add_lease_key(m, trial);
  const std::string type = protocol::type_of(request(m));
  if (type == "ok") return true;
  if (type == "cancel") return false;
  fail("answered heartbeat with '" + type + "'");
}

void CoordinatorClient::note_progress(int64_t step) {
  progress_step_ = step;
  progress_at_ms_ = steady_ms();
}

void CoordinatorClient::start_heartbeat(int64_t trial, bool watch_progress) {
  {
    std::lock_guard lock(heartbeat_mutex_);
    heartbeat_trial_ = trial;
    watch_progress_ = watch_progress;
    progress_step_ = 0;
    progress_at_ms_ = steady_ms();
    cancelled_ = false;
    stalled_ = false;
    if (!heartbeat_thread_.joinable()) {
      heartbeat_thread_ = std::thread([this] { heartbeat_loop(); });
    }
  }
  heartbeat_changed_.notify_all();
}

void CoordinatorClient::stop_heartbeat() {
  {
    std::lock_guard lock(heartbeat_mutex_);
    heartbeat_trial_.reset();
  }
  heartbeat_changed_.notify_all();
}

void CoordinatorClient::heartbeat_loop() {
  std::unique_lock lock(heartbeat_mutex_);
  while (!heartbeat_stop_) {
    // A new trial restarts the period: its lease was just granted.
    const std::optional<int64_t> trial = heartbeat_trial_;
    const bool changed = heartbeat_changed_.wait_for(
        lock, welcome_.heartbeat, [&] { return heartbeat_stop_ || heartbeat_trial_ != trial; });
    if (changed || !trial) continue;
    const auto idle = std::chrono::milliseconds(steady_ms() - progress_at_ms_.load());
    if (watch_progress_ && options_.stall_timeout.count() > 0 && idle > options_.stall_timeout) {
      // A hung trial must not keep its lease: silent now, it expires and runs elsewhere.
      spdlog::error(
          "trial {}: training made no progress for {} s (stall timeout {} s, last at step {}); "
          "no longer renewing its lease, so the coordinator requeues it",
          *trial, idle.count() / 1000, options_.stall_timeout.count() / 1000,
          progress_step_.load());
      stalled_ = true;
      heartbeat_trial_.reset();
      continue;
    }
    lock.unlock();
    bool kept = true, failed = false;
    try {
      kept = heartbeat(*trial);
    } catch (const Error& e) {
      spdlog::warn("heartbeat for trial {}: {}", *trial, e.what());
      failed = true;
    }
    lock.lock();
    if ((!kept || failed) && heartbeat_trial_ == trial) {
      cancelled_ = !kept;
      heartbeat_trial_.reset();  // lost: reconnect() starts over
    }
  }
}

}  // namespace pixelrec::hpo
