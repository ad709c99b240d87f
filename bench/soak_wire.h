// One protocol connection of the soak benchmark's simulated workers: newline-delimited JSON over
// TCP to 127.0.0.1, one request and one reply at a time, every wait bounded, so a coordinator
// that is killed (or a worker that "dies") shows up as a failed ask, never as a hang.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "hpo/protocol.h"

namespace pixelrec::bench {

class Wire {
 public:
  Wire() = default;
  ~Wire() { close(); }
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;

  bool connected() const { return fd_ >= 0; }

  // Connects to 127.0.0.1:port; false when nothing listens there.
  bool connect(int port) {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close();
      return false;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }

  // Drops the connection without a word (a worker that dies, or a network cut).
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

  // Sends `m` and reads its reply; nullopt (and closed) when the connection broke or no reply
  // came within `timeout`.
  std::optional<nlohmann::json> ask(const nlohmann::json& m,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (fd_ < 0) return std::nullopt;
    const std::string line = hpo::protocol::encode(m);
    for (size_t sent = 0; sent < line.size();) {
      const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return broken();
      sent += static_cast<size_t>(n);
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buffer_.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return broken();
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return broken();
      buffer_.append(buf, static_cast<size_t>(n));
    }
    const size_t newline = buffer_.find('\n');
    nlohmann::json reply = nlohmann::json::parse(buffer_.substr(0, newline), nullptr, false);
    buffer_.erase(0, newline + 1);
    if (reply.is_discarded()) return broken();
    return reply;
  }

 private:
  std::nullopt_t broken() {
    close();
    return std::nullopt;
  }

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace pixelrec::bench
