// Who holds each trial of a distributed study (and the test evaluation of its best trial), until
// when, and whether a message about a trial comes from its holder. A lease is bound to the
// connection it was handed out on and carries a random key; a message proves the lease by
// arriving on that connection or by sending the key (a worker that reconnected: the lease then
// moves to its new connection). See docs/hpo.md, "Leases".
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pixelrec::hpo {

struct Lease {
  int64_t trial = 0;
  int64_t attempt = 0;      // 0 for the evaluation of the best trial
  uint64_t connection = 0;  // the connection it is bound to
  std::string worker;
  std::string key;  // 32 hex digits, sent with the lease; proves it from another connection
  std::chrono::steady_clock::time_point expires;
  int64_t step = -1;        // training progress of the last heartbeat that carried it
  double idle_seconds = 0;  // ... and how long before that heartbeat the step was made
};

// Who sends a message about a trial, and what it claims.
struct Sender {
  uint64_t connection = 0;
  std::string worker;
  std::optional<std::string> key;  // the message's lease_key, when it has one
};

// The verdict on a message about a lease.
struct Standing {
  enum class Kind {
    kHolder,  // the sender holds the lease: serve the message
    kLost,    // the attempt named lost its lease (expired, finished, or never renewed)
    kOther,   // a live lease the sender cannot prove, or an attempt never handed out
  };
  Kind kind = Kind::kOther;
  Lease* lease = nullptr;  // kHolder: the sender's; kOther: the live lease held by someone else
};

class LeaseTable {
 public:
  // Hands out trial `trial` (attempt >= 1) or, with attempt 0, the evaluation of the best trial.
  const Lease& grant(int64_t trial, int64_t attempt, uint64_t connection, std::string worker,
                     std::chrono::steady_clock::time_point expires);

  // A report, finish or heartbeat about `trial`. `attempt` is the one the message names
  // (nullopt: a heartbeat, about whichever attempt holds the lease); `latest` is the trial's
  // latest attempt handed out. A valid key moves the lease to the sender's connection.
  Standing check_trial(int64_t trial, std::optional<int64_t> attempt, int64_t latest,
                       const Sender& sender);
  // An evaluation (or its heartbeat) of `trial`.
  Standing check_evaluation(int64_t trial, const Sender& sender);

  // The lease a heartbeat about `trial` renews: the trial's, else the evaluation's.
  bool has_trial(int64_t trial) const { return trials_.count(trial) > 0; }
  const Lease* trial_lease(int64_t trial) const;
  const Lease* evaluation() const { return evaluation_ ? &*evaluation_ : nullptr; }
  bool evaluation_handed_out(int64_t trial) const { return evaluated_.count(trial) > 0; }
  bool no_trial_leased() const { return trials_.empty(); }

  void release_trial(int64_t trial) { trials_.erase(trial); }
  void release_evaluation();
  // Copies of the trial leases expired at `now` (released by the caller once it recorded them).
  std::vector<Lease> expired_trials(std::chrono::steady_clock::time_point now) const;

 private:
  std::map<int64_t, Lease> trials_;  // trial → its current lease
  std::optional<Lease> evaluation_;
  std::set<int64_t> evaluated_;  // trials whose evaluation was handed out at least once
  // Evaluation leases that ended (the last kMaxPast): a late evaluation from one of their holders
  // lost its lease, from anyone else it is foreign.
  static constexpr size_t kMaxPast = 64;
  std::deque<Lease> past_evaluations_;
};

}  // namespace pixelrec::hpo
