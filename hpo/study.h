// A study: the ask / report / tell cycle over durable storage. ask() suggests a trial's
// parameters from the sampler (or hands out a requeued STALE trial), report() records an
// intermediate value and returns the pruner's decision, tell() finishes the trial. Every change is
// written to the StudyStorage first, so a reopened study continues exactly where it stopped.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hpo/pruner.h"
#include "hpo/sampler.h"
#include "hpo/storage.h"

namespace pixelrec::hpo {

// The space as JSON (parameters in order with every field); stored with the study so that a
// reopened study can be checked against the space it was created with.
nlohmann::json space_to_json(const SearchSpace& space);

// A trial handed out by ask().
struct TrialTicket {
  int64_t number = 0;
  ParamMap params;
  int64_t attempt = 1;  // > 1 when a STALE trial is run again
};

// How a trial ended.
struct TrialOutcome {
  TrialState state = TrialState::kFailed;
  std::optional<double> value;  // COMPLETE only
  std::string message;          // why it was pruned or failed

  static TrialOutcome complete(double value) { return {TrialState::kComplete, value, ""}; }
  static TrialOutcome pruned(std::string why) { return {TrialState::kPruned, {}, std::move(why)}; }
  static TrialOutcome failed(std::string reason) {
    return {TrialState::kFailed, {}, std::move(reason)};
  }
};

class Study {
 public:
  // Creates study `name` in `storage` or opens it (Error when its direction or space differ), and
  // loads its history. An AshaPruner is rebuilt from the stored reports in arrival order. `pruner`
  // may be null (no pruning). `storage` must outlive the study.
  Study(StudyStorage& storage, const std::string& name, SearchSpace space,
        std::unique_ptr<Sampler> sampler, std::unique_ptr<Pruner> pruner);

  const StudyRecord& record() const { return record_; }
  const SearchSpace& space() const { return space_; }
  const TrialHistory& history() const { return history_; }
  // The stored rows (times, workers, attempts, messages).
  std::vector<StoredTrial> stored_trials() const { return storage_.trials(record_.id); }

  // The RUNNING trials of a run that died become STALE (with `why`) and are queued to run again,
  // with their parameters, before any new trial. Returns their numbers.
  std::vector<int64_t> requeue_running(const std::string& why);
  bool has_requeued() const { return !requeued_.empty(); }

  // RUNNING trial `number` lost its worker (its lease expired): it becomes STALE (with `why`) and
  // is queued to run again, before any new trial, with attempt + 1.
  void expire(int64_t number, const std::string& why);

  // The current attempt of trial `number` (1 for the first run).
  int64_t attempt(int64_t number) const;

  // The storage the study writes to (late messages, evaluations).
  StudyStorage& storage() const { return storage_; }

  // True when a new trial may be sampled with `parallelism` trials in flight: trial n sees only
  // trials 0 .. n - parallelism, which must all be finished, so its parameters do not depend on
  // which of the trials in flight happen to finish first.
  bool can_sample_new(int64_t parallelism) const;

  // The next trial for `worker`: the lowest requeued STALE trial, else a new trial sampled from
  // trials 0 .. n - parallelism (PIXELREC_CHECK: can_sample_new(parallelism)). It is RUNNING.
  TrialTicket ask(const std::string& worker, int64_t parallelism = 1);

  // Records `value` at `step` for RUNNING trial `number` and returns the pruner's decision
  // (always kContinue without a pruner).
  Decision report(int64_t number, int64_t step, double value);

  // Finishes RUNNING trial `number`.
  void tell(int64_t number, const TrialOutcome& outcome);

  // The COMPLETE trial with the best value (the lowest number among equals), or nullopt.
  std::optional<FrozenTrial> best_trial() const;

  // Trials in `state`.
  size_t count(TrialState state) const;

 private:
  FrozenTrial& running_trial(int64_t number);

  StudyStorage& storage_;
  SearchSpace space_;
  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<Pruner> pruner_;
  StudyRecord record_;
  TrialHistory history_;           // mirror of the stored trials and reports
  std::vector<int64_t> attempts_;  // current attempt per trial number
  std::vector<int64_t> requeued_;  // STALE trials waiting to run again, ascending
};

}  // namespace pixelrec::hpo
