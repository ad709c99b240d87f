#include "hpo/lease_table.h"

#include <algorithm>
#include <utility>

#include "hpo/protocol.h"

namespace pixelrec::hpo {

namespace {

// The sender proves `lease` with its key (then the lease moves to the sender's connection), or
// without a key by sending on the connection the lease is bound to.
bool proves(const Sender& sender, Lease& lease) {
  if (!sender.key) return lease.connection == sender.connection;
  if (!protocol::constant_time_equal(*sender.key, lease.key)) return false;
  lease.connection = sender.connection;
  lease.worker = sender.worker;
  return true;
}

// The sender held `lease` (it sends its key, or on its connection); nothing changes.
bool held(const Sender& sender, const Lease& lease) {
  return sender.key ? protocol::constant_time_equal(*sender.key, lease.key)
                    : lease.connection == sender.connection;
}

Standing verdict(const Sender& sender, Lease& lease) {
  if (proves(sender, lease)) return {Standing::Kind::kHolder, &lease};
  return {Standing::Kind::kOther, &lease};
}

}  // namespace

const Lease& LeaseTable::grant(int64_t trial, int64_t attempt, uint64_t connection,
                               std::string worker, std::chrono::steady_clock::time_point expires) {
  Lease lease{trial, attempt, connection, std::move(worker), protocol::random_key(), expires};
  if (attempt == 0) {
    evaluated_.insert(trial);
    return *(evaluation_ = std::move(lease));
  }
  return trials_[trial] = std::move(lease);
}

Standing LeaseTable::check_trial(int64_t trial, std::optional<int64_t> attempt, int64_t latest,
                                 const Sender& sender) {
  const auto it = trials_.find(trial);
  Lease* live = it == trials_.end() ? nullptr : &it->second;
  if (attempt && (*attempt < 1 || *attempt > latest)) return {Standing::Kind::kOther, live};
  if (live && (!attempt || live->attempt == *attempt)) return verdict(sender, *live);
  return {Standing::Kind::kLost, live};
}

Standing LeaseTable::check_evaluation(int64_t trial, const Sender& sender) {
  if (evaluation_ && evaluation_->trial == trial) {
    Standing standing = verdict(sender, *evaluation_);
    const bool earlier_holder =
        std::any_of(past_evaluations_.begin(), past_evaluations_.end(),
                    [&](const Lease& past) { return past.trial == trial && held(sender, past); });
    if (standing.kind == Standing::Kind::kOther && earlier_holder)
      standing.kind = Standing::Kind::kLost;
    return standing;
  }
  if (evaluated_.count(trial)) return {Standing::Kind::kLost, nullptr};
  return {Standing::Kind::kOther, nullptr};
}

void LeaseTable::release_evaluation() {
  if (!evaluation_) return;
  past_evaluations_.push_back(std::move(*evaluation_));
  if (past_evaluations_.size() > kMaxPast) past_evaluations_.pop_front();
  evaluation_.reset();
}

const Lease* LeaseTable::trial_lease(int64_t trial) const {
  const auto it = trials_.find(trial);
  return it == trials_.end() ? nullptr : &it->second;
}

std::vector<Lease> LeaseTable::expired_trials(std::chrono::steady_clock::time_point now) const {
  std::vector<Lease> expired;
  for (const auto& [trial, lease] : trials_)
    if (lease.expires <= now) expired.push_back(lease);
  return expired;
}

}  // namespace pixelrec::hpo
