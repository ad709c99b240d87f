// What the coordinator tests share: a study served by a real Coordinator on a thread over
// 127.0.0.1, a raw line client for messages the real client never sends, and small helpers.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/config.h"
#include "hpo/coordinator.h"
#include "hpo/coordinator_client.h"
#include "hpo/protocol.h"
#include "hpo/random_sampler.h"

namespace pixelrec::hpo::coordinator_test {

using namespace std::chrono_literals;
using nlohmann::json;

inline constexpr const char* kToken = "secret-token";

// A study config in <dir>/results: `n_trials` random trials of one learning-rate parameter,
// minimised, no pruner.
inline Config study_config(const std::filesystem::path& dir, const std::string& name,
                           int n_trials) {
  Config config;
  config.results_dir = (dir / "results").string();
  HyperparameterSearchConfig& h = config.hyperparameter_search;
  h.study_name = name;
  h.n_trials = n_trials;
  h.sampler = "random";
  h.pruner = "none";
  h.direction = "minimize";
  h.search_space = YAML::Load("training.learning_rate: {type: float, low: 0.001, high: 0.1}\n");
  return config;
}

inline SearchSpace quadratic_space() {
  return SearchSpace::parse(YAML::Load("x: {type: float, low: -5, high: 5}\n"
                                       "y: {type: int, low: -5, high: 5}\n"),
                            Direction::kMinimize, "test");
}

inline double quadratic(const ParamMap& p) {
  const double x = std::get<double>(p.at("x"));
  const double y = static_cast<double>(std::get<int64_t>(p.at("y")));
  return (x - 1) * (x - 1) + (y + 2) * (y + 2);
}

inline CoordinatorOptions options(int64_t n_trials, int64_t parallelism = 1) {
  CoordinatorOptions o;
  o.token = kToken;
  o.metric = "val_ndcg@10";
  o.n_trials = n_trials;
  o.parallelism = parallelism;
  o.lease = 10s;
  o.heartbeat = 1s;
  o.idle_timeout = 10s;
  o.wait_retry = 5ms;
  o.drain = 2s;
  return o;
}

// A study over SQLite plus a coordinator serving it on a thread.
struct Served {
  StudyStorage& storage;
  Study study;
  Coordinator coordinator;
  CoordinatorStats stats;
  std::thread thread;

  // A reopened study's RUNNING trials are requeued first, as run_coordinator_study does.
  Served(StudyStorage& s, CoordinatorOptions o, std::unique_ptr<Pruner> pruner = nullptr)
      : storage(s),
        study(s, "quad", quadratic_space(), std::make_unique<RandomSampler>(11), std::move(pruner)),
        coordinator(requeued(study), std::move(o)) {
    thread = std::thread([this] { stats = coordinator.run(); });
  }
  static Study& requeued(Study& study) {
    study.requeue_running("restart");
    return study;
  }
  ~Served() { stop(); }  // a failed test must not hang on a coordinator still serving
  void join() {
    if (thread.joinable()) thread.join();
  }
  void stop() {
    coordinator.stop();
    join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(coordinator.port()); }
  ClientOptions client(const std::string& worker) const {
    ClientOptions c;
    c.address = address();
    c.token = kToken;
    c.worker = worker;
    c.connect_deadline = 5s;
    c.reply_timeout = 10s;
    return c;
  }
};

// A raw TCP client speaking lines, for messages the real client never sends.
class RawClient {
 public:
  // receive_buffer > 0: a small kernel receive buffer, for a client that does not read.
  explicit RawClient(uint16_t port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~RawClient() { ::close(fd_); }
  void send_raw(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  void send(const json& m) { send_raw(protocol::encode(m)); }
  // The next line as JSON; nullopt when the connection closed (or nothing came in 5 s).
  std::optional<json> receive() {
    while (true) {
      if (const size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        const std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return json::parse(line);
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return std::nullopt;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }
  json ask(const json& m) {
    send(m);
    auto reply = receive();
    EXPECT_TRUE(reply.has_value()) << "no reply to " << m.dump();
    return reply.value_or(json::object());
  }
  json hello(const std::string& token = kToken, const std::string& worker = "raw:1") {
    json m = protocol::make("hello");
    m["token"] = token;
    m["worker"] = worker;
    m["ranks"] = 1;
    return ask(m);
  }
  bool closed_by_peer() { return !receive().has_value(); }

 private:
  int fd_ = -1;
  std::string buffer_;
};

inline json msg(const std::string& type, json fields = json::object()) {
  json m = protocol::make(type);
  for (auto& [k, v] : fields.items()) m[k] = v;
  return m;
}

}  // namespace pixelrec::hpo::coordinator_test
