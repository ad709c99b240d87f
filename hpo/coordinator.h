// The coordinator of a distributed study: a single-threaded Boost.Asio server that leases the
// trials of a Study to worker groups over the protocol of protocol.h, renews leases on every
// message about a trial, requeues trials whose lease expired or that a worker released (STALE,
// attempt + 1), answers
// reports with the pruner's decision, hands the best trial to one worker for its test
// evaluation, and stops when the study is finished.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "hpo/study.h"

namespace pixelrec::hpo {

struct CoordinatorOptions {
  std::string host = "127.0.0.1";  // listen address
  uint16_t port = 0;               // 0: an ephemeral port (see Coordinator::port())
  std::string token;               // shared secret every hello must carry (non-empty)
  std::string metric;              // the validation metric workers report (sent in welcome)
  int64_t n_trials = 1;            // the study is finished when it holds this many, all terminal
  // A new trial n is sampled from trials 0 .. n - parallelism only (Study::can_sample_new).
  int64_t parallelism = 1;
  std::chrono::milliseconds lease{60'000};  // silent this long: the trial becomes STALE
  // A trial whose lease expired this many times is FAILED instead of being handed out again.
  int64_t max_attempts = 3;
  std::chrono::milliseconds heartbeat{10'000};      // how often workers renew (sent in welcome)
  std::chrono::milliseconds idle_timeout{120'000};  // a connection silent this long is closed
  std::chrono::milliseconds hello_timeout{10'000};  // ... before its hello (not authenticated)
  // A closing connection's last message (an error) gets this long to be read; then it is cut,
  // so a client that never reads cannot keep a connection open.
  std::chrono::milliseconds close_grace{2'000};
  size_t max_connections = 1024;  // more at once are closed right after accept
  // Replies queued for a client that does not read them; beyond, the connection is cut.
  size_t max_pending_replies = 64;
  std::chrono::milliseconds accept_backoff{100};  // pause after a failed accept (e.g. EMFILE)
  size_t max_message_bytes = 1 << 20;             // longer lines: error too_long + close
  std::chrono::milliseconds wait_retry{200};      // retry_after_ms of a `wait` answer
  // Once finished, `done` is still answered this long (or until every connection closed), so
  // that waiting workers learn the study ended instead of finding the port closed.
  std::chrono::milliseconds drain{5'000};
  // Called once, on the io thread, the moment the study is finished (writes the outputs).
  std::function<void()> on_finished;
};

struct CoordinatorStats {
  int64_t connections = 0;                  // accepted
  int64_t refused_connections = 0;          // closed at once: max_connections were open
  int64_t messages = 0;                     // lines received
  std::map<std::string, int64_t> rejected;  // error code → messages answered with `error`
  int64_t expired_leases = 0;               // trials made STALE by the lease sweep
  int64_t released_leases = 0;              // trials a worker gave back (release), requeued
  int64_t late_messages = 0;                // late report/finish/evaluation, stored, not applied
  int64_t trials_leased = 0;                // trial messages sent (new and requeued)
  bool finished = false;                    // the study finished (run() did not just stop())
};

class Coordinator {
 public:
  // Binds and listens on options.host:options.port. Throws Error when that fails, UsageError for
  // inconsistent options. `study` must outlive the coordinator; its RUNNING trials must have been
  // requeued (Study::requeue_running) since no worker holds their lease.
  Coordinator(Study& study, CoordinatorOptions options);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  const std::string& host() const;
  uint16_t port() const;  // the bound port (the ephemeral one when options.port was 0)

  // Serves until the study is finished and drained, or stop() is called. Never throws for a
  // client's mistake: bad messages are answered with `error`, logged and counted.
  CoordinatorStats run();
  // Ends run() soon; callable from any thread.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pixelrec::hpo
