#include "hpo/coordinator.h"

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <cmath>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>
#include <unordered_map>
#include <utility>

#include "core/logging.h"
#include "hpo/coordinator_kill_hook.h"
#include "hpo/lease_table.h"
#include "hpo/param_value.h"
#include "hpo/protocol.h"

namespace pixelrec::hpo {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
namespace code = protocol::code;

namespace {

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

bool is_terminal(TrialState state) {
  return state == TrialState::kComplete || state == TrialState::kPruned ||
         state == TrialState::kFailed;
}

}  // namespace

class Coordinator::Impl {
 public:
  Impl(Study& study, CoordinatorOptions options)
      : study_(study),
        options_(std::move(options)),
        acceptor_(io_),
        accept_backoff_(io_),
        sweep_(io_),
        drain_(io_),
        kill_point_(KillPoint::from_environment()) {
    if (options_.token.empty()) throw UsageError("the coordinator needs a non-empty token");
    if (options_.n_trials < 1 || options_.parallelism < 1 || options_.lease.count() <= 0 ||
        options_.heartbeat.count() <= 0 || options_.idle_timeout.count() <= 0 ||
        options_.max_message_bytes < 64) {
      throw UsageError(
          "coordinator options out of range: n_trials, parallelism >= 1, lease, heartbeat and "
          "idle timeout > 0, max_message_bytes >= 64");
    }
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec || endpoints.empty()) {
      throw Error("coordinator cannot resolve listen address " + where + ": " + ec.message() +
                  "; set hyperparameter_search.coordinator.host to an address of this machine");
    }
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw Error("coordinator cannot listen on " + where + ": " + ec.message() +
                  "; choose a free hyperparameter_search.coordinator.port (0: any free port)");
    }
    port_ = acceptor_.local_endpoint().port();
  }

  const std::string& host() const { return options_.host; }
  uint16_t port() const { return port_; }

  CoordinatorStats run() {
    accept();
    schedule_sweep();
    asio::post(io_, [this] { check_finished(); });  // a resumed study may be finished already
    io_.run();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& [id, connection] : connections_) connection->abort();
    connections_.clear();
    if (outputs_error_) std::rethrow_exception(outputs_error_);
    return stats_;
  }

  void stop() { io_.stop(); }

 private:
  class Connection;
  friend class Connection;

  // One client: reads newline-delimited messages, answers each in order.
  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(Impl& owner, tcp::socket socket, uint64_t id)
        : owner_(owner), socket_(std::move(socket)), idle_(owner.io_), id_(id) {
      boost::system::error_code ec;
      const tcp::endpoint remote = socket_.remote_endpoint(ec);
      peer_ = ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
      socket_.set_option(tcp::no_delay(true), ec);  // request/response: no Nagle delay
    }

    uint64_t id() const { return id_; }
    const std::string& worker() const { return worker_; }
    const std::string& name() const { return worker_.empty() ? peer_ : worker_; }
    bool authenticated() const { return authenticated_; }
    void authenticate(std::string worker) {
      authenticated_ = true;
      worker_ = std::move(worker);
      arm_idle_timer();  // from now on the (longer) idle timeout of a worker applies
    }

    void start() {
      arm_idle_timer();
      read();
    }

    void send(const json& message, bool close_after = false) {
      if (closing_) return;
      if (outbox_.size() >= owner_.options_.max_pending_replies) {
        // Counted and logged, not answered: the peer is not reading. Later lines are ignored.
        closing_ = true;
        ++owner_.stats_.rejected[code::kSlowReader];
        spdlog::warn("coordinator: {} does not read its replies ({} pending); connection cut",
                     name(), outbox_.size());
        finish();
        return;
      }
      outbox_.push_back(protocol::encode(message));
      closing_ = close_after;
      if (closing_) arm_close_deadline();
      if (!writing_) write();
    }

    // The test hook's kill once the replies queued so far are written.
    void kill_after_write(const KillPoint& point) { kill_after_write_ = point; }

    // Closes now, dropping anything unsent.
    void abort() {
      boost::system::error_code ignored;
      idle_.cancel();
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.close(ignored);
    }

   private:
    // The last message gets close_grace to be written; a peer that does not read is cut then.
    void arm_close_deadline() {
      idle_.expires_after(owner_.options_.close_grace);
      idle_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->finish();
      });
    }

    void arm_idle_timer() {
      idle_.expires_after(authenticated_ ? owner_.options_.idle_timeout
                                         : owner_.options_.hello_timeout);
      idle_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->closing_) return;
        const auto limit = self->authenticated_ ? self->owner_.options_.idle_timeout
                                                : self->owner_.options_.hello_timeout;
        self->owner_.reject(*self, code::kIdleTimeout,
                            fmt::format("no message for {:g} s{}; closing the connection",
                                        seconds(limit), self->authenticated_ ? "" : " (no hello)"),
                            /*close=*/true);
      });
    }

    void read() {
      socket_.async_read_some(
          asio::buffer(buffer_),
          [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
            if (ec) {
              self->finish();
              return;
            }
            self->consume(n);
            if (!self->closing_) self->read();
          });
    }

    // Splits the bytes into lines; a line over the limit is rejected without being kept.
    void consume(size_t n) {
      const char* p = buffer_.data();
      const char* end = p + n;
      while (p < end && !closing_) {
        const char* newline = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
        const char* stop = newline ? newline : end;
        if (line_.size() + size_t(stop - p) > owner_.options_.max_message_bytes) {
          owner_.reject(*this, code::kTooLong,
                        "message longer than " + std::to_string(owner_.options_.max_message_bytes) +
                            " bytes (hyperparameter_search.coordinator.max_message_bytes)",
                        /*close=*/true);
          return;
        }
        line_.append(p, stop);
        if (!newline) return;
        p = newline + 1;
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        arm_idle_timer();
        owner_.handle(*this, line_);
        line_.clear();
      }
    }

    void write() {
      writing_ = true;
      asio::async_write(socket_, asio::buffer(outbox_.front()),
                        [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                          self->outbox_.pop_front();
                          if (ec) {
                            self->finish();
                          } else if (!self->outbox_.empty()) {
                            self->write();
                          } else {
                            self->writing_ = false;
                            if (self->kill_after_write_) kill_self(*self->kill_after_write_);
                            if (self->closing_) self->finish();
                          }
                        });
    }

    // The connection ends (peer closed, error, or closed after a final message).
    void finish() {
      if (finished_) return;
      finished_ = true;
      abort();
      owner_.closed(id_);
    }

    Impl& owner_;
    tcp::socket socket_;
    asio::steady_timer idle_;
    uint64_t id_;
    std::string peer_, worker_;
    bool authenticated_ = false, closing_ = false, writing_ = false, finished_ = false;
    std::array<char, 16384> buffer_{};
    std::string line_;
    std::deque<std::string> outbox_;
    std::optional<KillPoint> kill_after_write_;
  };

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors (EMFILE) and the like persist: retry after a pause, not in a loop.
        spdlog::warn("coordinator: accept failed: {}; retrying in {:g} s", ec.message(),
                     seconds(options_.accept_backoff));
        accept_backoff_.expires_after(options_.accept_backoff);
        accept_backoff_.async_wait([this](const boost::system::error_code& wait_ec) {
          if (!wait_ec) accept();
        });
        return;
      }
      if (connections_.size() >= options_.max_connections) {
        ++stats_.refused_connections;
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        auto connection = std::make_shared<Connection>(*this, std::move(socket), ++next_id_);
        connections_.emplace(connection->id(), connection);
        ++stats_.connections;
        connection->start();
      }
      accept();
    });
  }

  void closed(uint64_t id) {
    connections_.erase(id);
    if (stats_.finished && connections_.empty()) io_.stop();
  }

  void reject(Connection& c, const std::string& error_code, const std::string& message,
              bool close) {
    ++stats_.rejected[error_code];
    spdlog::warn("coordinator: rejected a message from {}: {}: {}{}", c.name(), error_code, message,
                 close ? " (connection closed)" : "");
    c.send(protocol::make_error(error_code, message), close);
  }

  void handle(Connection& c, const std::string& line) {
    ++stats_.messages;
    json m;
    try {
      m = protocol::parse_line(line);
    } catch (const protocol::ProtocolError& e) {
      // Unauthenticated peers and other protocol versions get no second chance.
      reject(c, e.code(), e.what(), !c.authenticated() || e.code() == code::kVersion);
      return;
    }
    const std::string& type = protocol::type_of(m);
    try {
      if (!c.authenticated() || type == "hello") {
        hello(c, m);
      } else if (type == "lease") {
        lease(c);
      } else if (type == "heartbeat") {
        heartbeat(c, m);
      } else if (type == "report") {
        report(c, m);
      } else if (type == "finish") {
        finish(c, m);
      } else if (type == "release") {
        release(c, m);
      } else if (type == "evaluation") {
        evaluation(c, m);
      } else {
        reject(c, code::kUnknownType,
               "unknown message type " + protocol::quote_client_text(type, 40) +
                   "; a worker sends hello, lease, heartbeat, report, finish, release or "
                   "evaluation",
               false);
      }
    } catch (const protocol::ProtocolError& e) {
      reject(c, e.code(), e.what(), !c.authenticated());
    } catch (const std::exception& e) {
      spdlog::error("coordinator: failed on '{}' from {}: {}", type, c.name(), e.what());
      reject(c, code::kInternal, std::string("the coordinator failed: ") + e.what(), false);
    }
  }

  void hello(Connection& c, const json& m) {
    const std::string& type = protocol::type_of(m);
    if (c.authenticated() || type != "hello") {
      reject(c, code::kHelloFirst,
             c.authenticated()
                 ? "hello was already received on this connection"
                 : "the first message must be hello {token, worker, ranks}, not '" + type + "'",
             true);
      return;
    }
    const std::string token = protocol::get_string(m, "token");
    const std::string worker = protocol::get_string(m, "worker");
    const int64_t ranks = protocol::get_int(m, "ranks");
    if (!protocol::constant_time_equal(token, options_.token)) {
      reject(c, code::kUnauthorized,
             "wrong token; use the one in the study folder's coordinator.token", true);
      return;
    }
    if (worker.empty() || ranks < 1) {
      throw protocol::ProtocolError(code::kBadField,
                                    worker.empty() ? "field 'worker' of 'hello' is empty; send "
                                                     "host:pid"
                                                   : "field 'ranks' of 'hello' must be >= 1");
    }
    // The worker's name appears in every later log line about it: printable and short only.
    const bool printable = std::all_of(worker.begin(), worker.end(),
                                       [](unsigned char ch) { return ch >= 0x20 && ch < 0x7f; });
    if (worker.size() > 128 || !printable)
      throw protocol::ProtocolError(code::kBadField,
                                    "field 'worker' of 'hello' must be at most 128 printable ASCII "
                                    "characters (host:pid); got " +
                                        protocol::quote_client_text(worker, 40));
    c.authenticate(worker);
    spdlog::info("coordinator: worker {} ({} rank{}) connected", worker, ranks,
                 ranks == 1 ? "" : "s");
    json welcome = protocol::make("welcome");
    welcome["study"] = study_.record().name;
    welcome["direction"] = std::string(to_string(study_.record().direction));
    welcome["metric"] = options_.metric;
    welcome["heartbeat_seconds"] = seconds(options_.heartbeat);
    welcome["lease_seconds"] = seconds(options_.lease);
    c.send(welcome);
  }

  Clock::time_point lease_deadline() const { return Clock::now() + options_.lease; }

  bool all_created() const {
    return static_cast<int64_t>(study_.history().size()) >= options_.n_trials;
  }

  void lease(Connection& c) {
    if (stats_.finished) {
      c.send(protocol::make("done"));
      return;
    }
    if (study_.has_requeued() || (!all_created() && study_.can_sample_new(options_.parallelism))) {
      const TrialTicket ticket = study_.ask(c.worker(), options_.parallelism);
      const Lease& lease =
          leases_.grant(ticket.number, ticket.attempt, c.id(), c.worker(), lease_deadline());
      ++stats_.trials_leased;
      spdlog::info("coordinator: trial {} attempt {} → {}", ticket.number, ticket.attempt,
                   c.worker());
      json trial = protocol::make("trial");
      trial["trial"] = ticket.number;
      trial["attempt"] = ticket.attempt;
      trial["params"] = params_to_json(ticket.params);
      trial["lease_key"] = lease.key;
      c.send(trial);
      if (kill_point_ && kill_point_->matches("leased", ticket.number))
        c.kill_after_write(*kill_point_);
      return;
    }
    if (!all_created() || !leases_.no_trial_leased()) {
      send_wait(c);
      return;
    }
    // Every trial is terminal: the best one is evaluated on test by exactly one worker.
    const std::optional<FrozenTrial> best = study_.best_trial();
    if (best && !leases_.evaluation() && !evaluated(best->number)) {
      const Lease& lease = leases_.grant(best->number, 0, c.id(), c.worker(), lease_deadline());
      spdlog::info("coordinator: evaluation of best trial {} → {}", best->number, c.worker());
      json evaluate = protocol::make("evaluate");
      evaluate["trial"] = best->number;
      evaluate["params"] = params_to_json(best->params);
      evaluate["lease_key"] = lease.key;
      c.send(evaluate);
      return;
    }
    send_wait(c);  // the evaluation is with another worker
  }

  void send_wait(Connection& c) {
    json wait = protocol::make("wait");
    wait["retry_after_ms"] = static_cast<int64_t>(options_.wait_retry.count());
    c.send(wait);
  }

  // The trial named by field "trial", checked to exist.
  int64_t trial_field(const json& m) const {
    const int64_t trial = protocol::get_int(m, "trial");
    if (trial < 0 || trial >= static_cast<int64_t>(study_.history().size())) {
      throw protocol::ProtocolError(
          code::kUnknownTrial,
          "trial " + std::to_string(trial) + " does not exist; study '" + study_.record().name +
              "' has " + std::to_string(study_.history().size()) + " trial(s), numbered from 0");
    }
    return trial;
  }

  // Who sends `m`, with the lease_key it carries (if any).
  static Sender sender_of(const Connection& c, const json& m) {
    Sender sender{c.id(), c.worker(), std::nullopt};
    if (m.contains("lease_key")) sender.key = protocol::get_string(m, "lease_key");
    return sender;
  }

  // Why an attempt of `trial` holds no lease any more, for the cancel it is answered with.
  std::string why_lost(int64_t trial, const Lease* live) const {
    const TrialState state = study_.history().at(trial).state;
    if (is_terminal(state)) return fmt::format("the trial is already {}", to_string(state));
    if (live)
      return fmt::format("the trial now runs as attempt {} on worker {}", live->attempt,
                         live->worker);
    return "its lease expired (or the coordinator restarted); the trial waits to run again";
  }

  // Answers a report, finish or evaluation whose attempt lost its lease: cancel {stale_attempt,
  // message}; the message is kept in late_messages, never applied.
  void refuse_stale(Connection& c, const std::string& what, const std::string& why, int64_t trial,
                    int64_t attempt, const json& m) {
    const std::string message =
        fmt::format("{} lost its lease: {}; this '{}' changes nothing (recorded as late)", what,
                    why, protocol::type_of(m));
    record_late(c, trial, attempt, m);
    json cancel = protocol::make("cancel");
    cancel["code"] = code::kStaleAttempt;
    cancel["message"] = message;
    c.send(cancel);
  }

  // Answers a message about a lease held by someone else, or an attempt never handed out.
  void refuse_foreign(Connection& c, const std::string& what, const Lease* live) {
    reject(c, code::kNotLeaseholder,
           live ? fmt::format("{} is leased to worker {} on another connection; a worker sends "
                              "messages only about what it leased, on that connection or with "
                              "the lease_key it was given",
                              what, live->worker)
                : what,
           false);
  }

  // The lease of (trial, attempt) when `c` holds it; otherwise answers and returns null.
  Lease* held_trial(Connection& c, int64_t trial, int64_t attempt, const json& m) {
    const int64_t latest = study_.attempt(trial);
    const Standing s = leases_.check_trial(trial, attempt, latest, sender_of(c, m));
    const std::string what = fmt::format("trial {} attempt {}", trial, attempt);
    if (s.kind == Standing::Kind::kHolder) return s.lease;
    if (s.kind == Standing::Kind::kLost) {
      refuse_stale(c, what, why_lost(trial, s.lease), trial, attempt, m);
    } else if (attempt < 1 || attempt > latest) {
      refuse_foreign(c,
                     fmt::format("attempt {} of trial {} was never handed out (its latest is {})",
                                 attempt, trial, latest),
                     nullptr);
    } else {
      refuse_foreign(c, what, s.lease);
    }
    return nullptr;
  }

  void record_late(Connection& c, int64_t trial, int64_t attempt, const json& m) {
    study_.storage().add_late_message(study_.record().id, trial, attempt, protocol::encode(m),
                                      unix_now());
    ++stats_.late_messages;
    spdlog::warn("coordinator: late '{}' for trial {} attempt {} from {} recorded, not applied",
                 protocol::type_of(m), trial, attempt, c.name());
  }

  // Renews the sender's lease on the trial (or on its evaluation); anything else is answered
  // cancel: a heartbeat never changes a lease it does not hold.
  void heartbeat(Connection& c, const json& m) {
    const int64_t trial = trial_field(m);
    // Optional: the training progress behind the renewal (a worker stops renewing when it stalls).
    const int64_t step = m.contains("step") ? protocol::get_int(m, "step") : -1;
    const double idle =
        m.contains("idle_seconds") ? protocol::get_number_or_nan(m, "idle_seconds") : 0.0;
    const Sender sender = sender_of(c, m);
    const Standing s = leases_.has_trial(trial)
                           ? leases_.check_trial(trial, std::nullopt, study_.attempt(trial), sender)
                           : leases_.check_evaluation(trial, sender);
    if (s.kind != Standing::Kind::kHolder) {
      json cancel = protocol::make("cancel");
      cancel["code"] =
          s.kind == Standing::Kind::kLost ? code::kStaleAttempt : code::kNotLeaseholder;
      cancel["message"] =
          s.lease ? fmt::format("trial {} is leased to worker {}", trial, s.lease->worker)
                  : fmt::format("trial {} holds no lease", trial);
      c.send(cancel);
      return;
    }
    s.lease->expires = lease_deadline();
    if (step >= 0) {
      s.lease->step = step;
      s.lease->idle_seconds = std::isfinite(idle) ? idle : 0.0;
    }
    c.send(protocol::make("ok"));
  }

  void report(Connection& c, const json& m) {
    const int64_t trial = trial_field(m);
    const int64_t attempt = protocol::get_int(m, "attempt");
    const int64_t step = protocol::get_int(m, "step");
    const double value = protocol::get_number_or_nan(m, "value");
    if (step < 0) {
      throw protocol::ProtocolError(code::kBadField, "field 'step' of 'report' must be >= 0");
    }
    if (kill_point_ && kill_point_->matches("report", trial, step)) kill_self(*kill_point_);
    Lease* held = held_trial(c, trial, attempt, m);
    if (!held) return;
    held->expires = lease_deadline();
    const Decision decision = study_.report(trial, step, value);
    c.send(protocol::make(decision == Decision::kPrune ? "prune" : "continue"));
    if (kill_point_ && kill_point_->matches("reported", trial, step))
      c.kill_after_write(*kill_point_);
  }

  void finish(Connection& c, const json& m) {
    const int64_t trial = trial_field(m);
    const int64_t attempt = protocol::get_int(m, "attempt");
    const std::string state = protocol::get_string(m, "state");
    const std::string message = m.contains("message") ? protocol::get_string(m, "message") : "";
    TrialOutcome outcome;
    if (state == "complete") {
      const double value = m.contains("value") ? protocol::get_number_or_nan(m, "value") : NAN;
      if (!std::isfinite(value)) {
        throw protocol::ProtocolError(
            code::kBadField,
            "field 'value' of 'finish' must be a finite number when state is complete; send "
            "state failed with a message for a NaN or infinite objective");
      }
      outcome = TrialOutcome::complete(value);
    } else if (state == "pruned") {
      outcome = TrialOutcome::pruned(message.empty() ? "pruned" : message);
    } else if (state == "failed") {
      outcome = TrialOutcome::failed(message.empty() ? "failed (no message)" : message);
    } else {
      throw protocol::ProtocolError(code::kBadField, "field 'state' of 'finish' is '" + state +
                                                         "'; use complete, pruned or failed");
    }
    if (kill_point_ && kill_point_->matches("finish", trial)) kill_self(*kill_point_);
    if (!held_trial(c, trial, attempt, m)) return;
    study_.tell(trial, outcome);
    leases_.release_trial(trial);
    spdlog::info("coordinator: trial {} {}{} by {}", trial, to_string(outcome.state),
                 outcome.value ? " " + format_value(*outcome.value) : "", c.worker());
    c.send(protocol::make("ok"));
    check_finished();
  }

  // The worker gives the trial back unfinished (pre-empted, its checkpoint saved): it is requeued
  // now with attempt + 1, and the release does not count towards max_attempts.
  void release(Connection& c, const json& m) {
    const int64_t trial = trial_field(m);
    const int64_t attempt = protocol::get_int(m, "attempt");
    const std::string message = m.contains("message") ? protocol::get_string(m, "message") : "";
    if (!held_trial(c, trial, attempt, m)) return;
    const std::string why = fmt::format(
        "released by worker {} (attempt {}): {}; requeued", c.worker(), attempt,
        message.empty() ? "no reason given" : protocol::quote_client_text(message, 200));
    study_.expire(trial, why);
    leases_.release_trial(trial);
    ++released_[trial];
    ++stats_.released_leases;
    spdlog::info("coordinator: trial {} {}", trial, why);
    c.send(protocol::make("ok"));
  }

  bool evaluated(int64_t trial) const {
    return study_.storage().evaluation(study_.record().id, trial).has_value();
  }

  bool all_terminal() const {
    if (!all_created() || study_.has_requeued() || !leases_.no_trial_leased()) return false;
    for (const FrozenTrial& t : study_.history().trials())
      if (!is_terminal(t.state)) return false;
    return true;
  }

  // The test metrics of the best trial, or the error its evaluation failed with: from the
  // worker that holds the evaluation's lease only.
  void evaluation(Connection& c, const json& m) {
    const int64_t trial = trial_field(m);
    if (m.contains("metrics") == m.contains("error")) {
      throw protocol::ProtocolError(
          code::kBadField,
          "'evaluation' carries either 'metrics' (an object: the test metrics) or 'error' (a "
          "string: why the evaluation failed), not both and not neither");
    }
    std::string metrics, error;
    if (m.contains("metrics")) {
      metrics = protocol::get_object(m, "metrics").dump();
    } else if ((error = protocol::get_string(m, "error")).empty()) {
      throw protocol::ProtocolError(code::kBadField,
                                    "field 'error' of 'evaluation' is empty; say why the "
                                    "evaluation failed");
    }
    const Standing s = leases_.check_evaluation(trial, sender_of(c, m));
    const std::string what = fmt::format("the evaluation of trial {}", trial);
    if (s.kind == Standing::Kind::kLost) {
      refuse_stale(c, what,
                   evaluated(trial) ? "the trial was evaluated already"
                   : s.lease        ? "its lease expired; it is now with worker " + s.lease->worker
                                    : "its lease expired; it is handed out again",
                   trial, 0, m);
      return;
    }
    if (s.kind == Standing::Kind::kOther) {
      refuse_foreign(
          c, s.lease ? what : "no evaluation of trial " + std::to_string(trial) + " was handed out",
          s.lease);
      return;
    }
    const bool stored = study_.storage().add_evaluation(study_.record().id, trial, metrics,
                                                        c.worker(), unix_now(), error);
    leases_.release_evaluation();
    if (!stored) {  // evaluated by an earlier coordinator of this study
      refuse_stale(c, what, "the trial was evaluated already", trial, 0, m);
      return;
    }
    if (error.empty()) {
      spdlog::info("coordinator: test metrics of best trial {} recorded from {}", trial,
                   c.worker());
    } else {
      spdlog::error("coordinator: the test evaluation of best trial {} failed on {}: {}", trial,
                    c.worker(), protocol::quote_client_text(error, 500));
    }
    c.send(protocol::make("ok"));
    check_finished();
  }

  void schedule_sweep() {
    const auto period = std::clamp(options_.lease / 4, std::chrono::milliseconds(10),
                                   std::chrono::milliseconds(1000));
    sweep_.expires_after(period);
    sweep_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stats_.finished) return;
      sweep_leases();
      schedule_sweep();
    });
  }

  void sweep_leases() {
    const Clock::time_point now = Clock::now();
    bool failed_any = false;
    for (const Lease& lease : leases_.expired_trials(now)) {
      // Attempts ended by a release (pre-emption) are not the trial's fault.
      const auto released = released_.find(lease.trial);
      const int64_t expiries = lease.attempt - (released == released_.end() ? 0 : released->second);
      const bool last = expiries >= options_.max_attempts;
      const std::string progress =
          lease.step < 0 ? ""
                         : fmt::format("; its last heartbeat said training step {}, {:.0f} s old",
                                       lease.step, lease.idle_seconds);
      try {
        if (last) {
          const std::string why = fmt::format(
              "lease expired {} times (max_attempts {}): last worker {} sent nothing about it "
              "for {:g} s{}",
              expiries, options_.max_attempts, lease.worker, seconds(options_.lease), progress);
          study_.tell(lease.trial, TrialOutcome::failed(why));
          spdlog::warn("coordinator: trial {} FAILED: {}", lease.trial, why);
          failed_any = true;
        } else {
          const std::string why = fmt::format(
              "lease expired: worker {} sent nothing about it for {:g} s (attempt {}{}); "
              "requeued",
              lease.worker, seconds(options_.lease), lease.attempt, progress);
          study_.expire(lease.trial, why);
          spdlog::warn("coordinator: trial {}: {}", lease.trial, why);
        }
        ++stats_.expired_leases;
        leases_.release_trial(lease.trial);  // forgotten only once the study recorded it
      } catch (const std::exception& e) {
        // Kept: the next sweep tries again, so a failed write cannot strand the trial.
        spdlog::error("coordinator: could not expire trial {}: {}", lease.trial, e.what());
      }
    }
    if (failed_any) check_finished();
    if (const Lease* evaluation = leases_.evaluation(); evaluation && evaluation->expires <= now) {
      spdlog::warn("coordinator: evaluation of trial {} by {}: lease expired; handed out again",
                   evaluation->trial, evaluation->worker);
      leases_.release_evaluation();
    }
  }

  void check_finished() {
    if (stats_.finished || !all_terminal()) return;
    const std::optional<FrozenTrial> best = study_.best_trial();
    if (best && !evaluated(best->number)) return;
    stats_.finished = true;
    sweep_.cancel();
    spdlog::info("coordinator: study '{}' finished ({} trials)", study_.record().name,
                 study_.history().size());
    if (options_.on_finished) {
      try {
        options_.on_finished();
      } catch (const std::exception& e) {
        // Not a client's fault: the workers still get `done`, then run() throws it.
        spdlog::error("coordinator: {}", e.what());
        outputs_error_ = std::current_exception();
      } catch (...) {
        outputs_error_ = std::current_exception();
      }
    }
    if (connections_.empty()) {
      io_.stop();
      return;
    }
    drain_.expires_after(options_.drain);
    drain_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) io_.stop();
    });
  }

  Study& study_;
  CoordinatorOptions options_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_backoff_;
  asio::steady_timer sweep_, drain_;
  uint16_t port_ = 0;
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;
  LeaseTable leases_;
  std::map<int64_t, int64_t> released_;  // trial → attempts it was released from (this run)
  std::optional<KillPoint> kill_point_;  // PIXELREC_TEST_COORDINATOR_KILL
  CoordinatorStats stats_;
  std::exception_ptr outputs_error_;  // on_finished failed: run() rethrows it
};

Coordinator::Coordinator(Study& study, CoordinatorOptions options)
    : impl_(std::make_unique<Impl>(study, std::move(options))) {}
Coordinator::~Coordinator() = default;
const std::string& Coordinator::host() const { return impl_->host(); }
uint16_t Coordinator::port() const { return impl_->port(); }
CoordinatorStats Coordinator::run() { return impl_->run(); }
void Coordinator::stop() { impl_->stop(); }

}  // namespace pixelrec::hpo
