// A simulated worker group of the soak benchmark: it speaks the real protocol (soak_wire.h) but
// trains nothing. A trial reports objective(params, epoch) after each short "epoch" and finishes
// COMPLETE with the last value, unless a fault drawn for the trial strikes: the worker dies
// mid-trial (the connection drops, a new worker takes its place), pauses past its lease, loses
// its connection and resumes the trial with the lease key, or fails the trial on purpose. What
// the coordinator acknowledged goes into the Ledger, against which the study is checked.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "soak_wire.h"

namespace pixelrec::bench {

using nlohmann::json;

// The simulated objective: a quadratic bowl in (x, y) plus a term that shrinks with the epochs.
inline double soak_objective(double x, int64_t y, int64_t epoch) {
  return (x - 1) * (x - 1) + double((y + 2) * (y + 2)) + 1.0 / double(epoch);
}

inline constexpr const char* kSimulatedFailure = "simulated divergence (soak benchmark)";

struct SoakSettings {
  int epochs = 4;
  std::chrono::milliseconds epoch_time{10};  // each epoch sleeps 0.5x .. 1.5x this
  std::chrono::milliseconds pause{3500};     // longer than the lease
  // Per trial: the chance of each fault (at most one per trial).
  double kill = 0.02, pause_chance = 0.01, reconnect = 0.03, fail = 0.01;
  double heartbeat = 0.25;  // per epoch: send a heartbeat before the report
};

// What the workers saw; every field is guarded by `mutex`.
struct Ledger {
  std::mutex mutex;
  std::map<int64_t, int> completes_acked;  // trial → COMPLETE finishes answered ok
  std::map<int64_t, double> acked_value;
  std::map<int64_t, int> failures_acked;  // trial → simulated failures answered ok
  std::set<int64_t> finish_unknown;       // finish sent, its reply lost (the coordinator died)
  std::vector<std::string> unexpected;    // `error` replies and other surprises
  int64_t worker_kills = 0, pauses = 0, reconnects = 0, resumed = 0, resume_refused = 0;
  int64_t stale_cancels = 0, finish_cancels = 0, connection_losses = 0, heartbeats = 0;
  int64_t evaluations = 0, done = 0;
  std::atomic<int64_t> acked{0};  // finishes answered ok: the progress of the study

  void add(int64_t& counter) {
    std::lock_guard lock(mutex);
    ++counter;
  }
  void surprise(const std::string& what) {
    std::lock_guard lock(mutex);
    if (unexpected.size() < 20) unexpected.push_back(what);
  }
};

// The coordinator's current (port, token), from its discovery files; nullopt while it is down.
using Endpoint = std::function<std::optional<std::pair<int, std::string>>()>;

class SimulatedWorker {
 public:
  SimulatedWorker(int index, const SoakSettings& settings, Endpoint endpoint, Ledger& ledger,
                  const std::atomic<bool>& stop)
      : index_(index),
        settings_(settings),
        endpoint_(std::move(endpoint)),
        ledger_(ledger),
        stop_(stop),
        rng_(0x50a6 + uint64_t(index)) {}

  void run() {
    while (!stop_) {
      if (!wire_.connected() && !connect()) return;
      const std::optional<json> reply = wire_.ask(message("lease"));
      if (!reply) {  // the connection broke (the coordinator died): reconnect
        ledger_.add(ledger_.connection_losses);
        continue;
      }
      const std::string type = reply->value("type", "");
      if (type == "done") {
        ledger_.add(ledger_.done);
        return;
      }
      if (type == "wait") {
        std::this_thread::sleep_for(std::chrono::milliseconds(reply->value("retry_after_ms", 50)));
      } else if (type == "evaluate") {
        evaluate(*reply);
      } else if (type == "trial") {
        run_trial(*reply);
      } else {
        ledger_.surprise("lease answered " + reply->dump());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }

 private:
  enum class Fault { kNone, kKill, kPause, kReconnect, kFail };

  static json message(const std::string& type, json fields = json::object()) {
    json m = hpo::protocol::make(type);
    for (auto& [k, v] : fields.items()) m[k] = v;
    return m;
  }

  std::string name() const {
    return "soak-" + std::to_string(index_) + "." + std::to_string(generation_);
  }

  // (Re)connects and says hello, retrying while the coordinator is down; false once stopped.
  bool connect() {
    while (!stop_) {
      if (const auto endpoint = endpoint_(); endpoint && wire_.connect(endpoint->first)) {
        const auto welcome = wire_.ask(
            message("hello", {{"token", endpoint->second}, {"worker", name()}, {"ranks", 1}}));
        if (welcome && welcome->value("type", "") == "welcome") return true;
        if (welcome) ledger_.surprise("hello answered " + welcome->dump());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Workers 0-3 meet one fault each on their first trial, so that even a short run has them all.
  Fault draw_fault() {
    const double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (trials_run_++ == 0 && index_ < 4)
      return std::array{Fault::kKill, Fault::kPause, Fault::kReconnect, Fault::kFail}[index_];
    double edge = settings_.kill;
    if (r < edge) return Fault::kKill;
    if (r < (edge += settings_.pause_chance)) return Fault::kPause;
    if (r < (edge += settings_.reconnect)) return Fault::kReconnect;
    if (r < (edge += settings_.fail)) return Fault::kFail;
    return Fault::kNone;
  }

  // The reply to a message about the trial; a broken connection is re-made once and the message
  // sent again with the lease key (the coordinator may have died: then it answers cancel).
  std::optional<json> ask_about_trial(json m, const json& key, bool& keyed) {
    if (keyed) m["lease_key"] = key;
    if (auto reply = wire_.ask(m)) return reply;
    ledger_.add(ledger_.connection_losses);
    if (!connect()) return std::nullopt;
    keyed = true;
    m["lease_key"] = key;
    return wire_.ask(m);
  }

  // False (after counting why) unless the reply is the expected one.
  bool carry_on(const std::optional<json>& reply, const char* expected, int64_t trial) {
    if (!reply) return false;
    const std::string type = reply->value("type", "");
    if (type == expected) return true;
    if (type == "cancel") {
      ledger_.add(ledger_.stale_cancels);
    } else {
      ledger_.surprise("trial " + std::to_string(trial) + ": " + reply->dump());
    }
    return false;
  }

  void run_trial(const json& lease) {
    const int64_t trial = lease.at("trial"), attempt = lease.at("attempt");
    const json key = lease.at("lease_key");
    const double x = lease.at("params").at("x");
    const int64_t y = lease.at("params").at("y");
    const Fault fault = draw_fault();
    const int fault_epoch = std::uniform_int_distribution<int>(1, settings_.epochs)(rng_);
    bool keyed = false;
    for (int epoch = 1; epoch <= settings_.epochs; ++epoch) {
      const double jitter = std::uniform_real_distribution<double>(0.5, 1.5)(rng_);
      std::this_thread::sleep_for(settings_.epoch_time * jitter);
      if (epoch == fault_epoch && fault == Fault::kKill) {
        wire_.close();  // the worker dies; another process takes its slot
        ++generation_;
        ledger_.add(ledger_.worker_kills);
        return;
      }
      if (epoch == fault_epoch && fault == Fault::kPause) {
        ledger_.add(ledger_.pauses);
        std::this_thread::sleep_for(settings_.pause);  // silent past the lease
      }
      bool resuming = false;
      if (epoch == fault_epoch && fault == Fault::kReconnect) {
        wire_.close();
        ledger_.add(ledger_.reconnects);
        if (!connect()) return;
        keyed = resuming = true;
      }
      if (std::uniform_real_distribution<double>(0, 1)(rng_) < settings_.heartbeat) {
        ledger_.add(ledger_.heartbeats);
        const auto beat = ask_about_trial(message("heartbeat", {{"trial", trial}}), key, keyed);
        if (!carry_on(beat, "ok", trial)) return;
      }
      const auto reply =
          ask_about_trial(message("report", {{"trial", trial},
                                             {"attempt", attempt},
                                             {"step", epoch},
                                             {"value", soak_objective(x, y, epoch)}}),
                          key, keyed);
      const bool go_on = carry_on(reply, "continue", trial);
      if (resuming) ledger_.add(go_on ? ledger_.resumed : ledger_.resume_refused);
      if (!go_on) return;
    }
    const bool fail = fault == Fault::kFail;
    json finish = message("finish", {{"trial", trial}, {"attempt", attempt}});
    finish["state"] = fail ? "failed" : "complete";
    if (fail) finish["message"] = kSimulatedFailure;
    const double value = soak_objective(x, y, settings_.epochs);
    if (!fail) finish["value"] = value;
    if (keyed) finish["lease_key"] = key;
    const auto reply = wire_.ask(finish);
    std::lock_guard lock(ledger_.mutex);
    if (!reply) {
      ledger_.finish_unknown.insert(trial);
    } else if (reply->value("type", "") == "ok") {
      if (fail) {
        ++ledger_.failures_acked[trial];
      } else {
        ++ledger_.completes_acked[trial];
        ledger_.acked_value[trial] = value;
      }
      ++ledger_.acked;
    } else if (reply->value("type", "") == "cancel") {
      ++ledger_.finish_cancels;
    } else if (ledger_.unexpected.size() < 20) {
      ledger_.unexpected.push_back("finish of trial " + std::to_string(trial) + ": " +
                                   reply->dump());
    }
  }

  void evaluate(const json& request) {
    json m = message("evaluation", {{"trial", request.at("trial")},
                                    {"metrics", {{"ndcg@10", 0.5}}},
                                    {"lease_key", request.at("lease_key")}});
    const auto reply = wire_.ask(m);
    if (reply && reply->value("type", "") == "ok") ledger_.add(ledger_.evaluations);
    if (reply && reply->value("type", "") == "error")
      ledger_.surprise("evaluation: " + reply->dump());
  }

  int index_;
  int generation_ = 0;  // + 1 each time this worker "dies"
  int trials_run_ = 0;
  SoakSettings settings_;
  Endpoint endpoint_;
  Ledger& ledger_;
  const std::atomic<bool>& stop_;
  std::mt19937_64 rng_;
  Wire wire_;
};

}  // namespace pixelrec::bench
