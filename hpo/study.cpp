#include "hpo/study.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/errors.h"
#include "hpo/asha.h"

namespace pixelrec::hpo {

namespace {

bool is_finished(TrialState state) {
  return state == TrialState::kComplete || state == TrialState::kPruned ||
         state == TrialState::kFailed;
}

nlohmann::json value_json(const ParamValue& value) { return params_to_json({{"v", value}})["v"]; }

}  // namespace

nlohmann::json space_to_json(const SearchSpace& space) {
  nlohmann::json params = nlohmann::json::array();
  for (const ParamSpec& spec : space.params()) {
    nlohmann::json p = {{"name", spec.name}, {"type", std::string(to_string(spec.type))}};
    if (spec.is_numeric()) {
      p["low"] = spec.low;
      p["high"] = spec.high;
      p["log"] = spec.log;
      p["step"] = spec.step;
    } else {
      nlohmann::json choices = nlohmann::json::array();
      for (const Choice& c : spec.choices) choices.push_back(value_json(c.value));
      p["choices"] = std::move(choices);
    }
    nlohmann::json conditions = nlohmann::json::array();
    for (const Condition& c : spec.conditions) {
      conditions.push_back({{"param", c.param}, {"value", value_json(c.value)}});
    }
    p["conditions"] = std::move(conditions);
    params.push_back(std::move(p));
  }
  return {{"direction", std::string(to_string(space.direction()))}, {"params", params}};
}

Study::Study(StudyStorage& storage, const std::string& name, SearchSpace space,
             std::unique_ptr<Sampler> sampler, std::unique_ptr<Pruner> pruner)
    : storage_(storage),
      space_(std::move(space)),
      sampler_(std::move(sampler)),
      pruner_(std::move(pruner)),
      record_(
          storage_.create_or_open_study(name, space_.direction(), space_to_json(space_).dump())),
      history_(storage_.history(record_.id)) {
  PIXELREC_CHECK(sampler_ != nullptr, "a study needs a sampler");
  for (const StoredTrial& t : storage_.trials(record_.id)) {
    attempts_.push_back(t.attempt);
    if (t.trial.state == TrialState::kStale) requeued_.push_back(t.trial.number);
  }
  if (auto* asha = dynamic_cast<AshaPruner*>(pruner_.get())) {
    std::vector<Report> reports;
    for (const StoredReport& r : storage_.reports(record_.id)) reports.push_back(r.report);
    asha->rebuild(reports);
  }
}

std::vector<int64_t> Study::requeue_running(const std::string& why) {
  const std::vector<int64_t> stale = storage_.mark_running_stale(record_.id, why);
  for (int64_t number : stale) {
    history_.at(number).state = TrialState::kStale;
    requeued_.push_back(number);
  }
  std::sort(requeued_.begin(), requeued_.end());
  return stale;
}

void Study::expire(int64_t number, const std::string& why) {
  FrozenTrial& trial = running_trial(number);
  storage_.mark_trial_stale(record_.id, number, why);
  trial.state = TrialState::kStale;
  requeued_.insert(std::upper_bound(requeued_.begin(), requeued_.end(), number), number);
}

int64_t Study::attempt(int64_t number) const {
  history_.at(number);  // checks the number
  return attempts_[static_cast<size_t>(number)];
}

bool Study::can_sample_new(int64_t parallelism) const {
  PIXELREC_CHECK(parallelism >= 1, "parallelism must be >= 1");
  const int64_t visible = static_cast<int64_t>(history_.size()) - parallelism + 1;
  for (int64_t i = 0; i < visible; ++i) {
    if (!is_finished(history_.at(i).state)) return false;
  }
  return true;
}

TrialTicket Study::ask(const std::string& worker, int64_t parallelism) {
  const double now = unix_now();
  if (!requeued_.empty()) {
    const int64_t number = requeued_.front();
    storage_.restart_trial(record_.id, number, worker, now);
    requeued_.erase(requeued_.begin());
    FrozenTrial& trial = history_.at(number);
    trial.state = TrialState::kRunning;
    return {number, trial.params, ++attempts_[static_cast<size_t>(number)]};
  }
  PIXELREC_CHECK(can_sample_new(parallelism),
                 "ask() before the trials the new one depends on have finished");
  const auto number = static_cast<int64_t>(history_.size());
  // Trials 0 .. number - parallelism: all finished, so the suggestion is timing-independent.
  TrialHistory visible;
  for (int64_t i = 0; i <= number - parallelism; ++i) visible.restore(history_.at(i));
  ParamMap params = sampler_->sample(space_, visible, number);
  const int64_t stored = storage_.add_running_trial(record_.id, params, worker, now);
  PIXELREC_CHECK(stored == number, "study " + record_.name +
                                       " gained trials from another process; one study, "
                                       "one writer");
  history_.add(params, TrialState::kRunning);
  attempts_.push_back(1);
  return {number, std::move(params), 1};
}

FrozenTrial& Study::running_trial(int64_t number) {
  FrozenTrial& trial = history_.at(number);
  PIXELREC_CHECK(trial.state == TrialState::kRunning, "trial " + std::to_string(number) + " is " +
                                                          std::string(to_string(trial.state)) +
                                                          ", not RUNNING");
  return trial;
}

Decision Study::report(int64_t number, int64_t step, double value) {
  FrozenTrial& trial = running_trial(number);
  const Report report{number, step, value};
  storage_.add_report(record_.id, report, attempts_[static_cast<size_t>(number)]);
  trial.intermediate_values[step] = value;
  return pruner_ ? pruner_->decide(history_, report) : Decision::kContinue;
}

void Study::tell(int64_t number, const TrialOutcome& outcome) {
  FrozenTrial& trial = running_trial(number);
  storage_.finish_trial(record_.id, number, outcome.state, outcome.value, outcome.message,
                        unix_now());
  trial.state = outcome.state;
  if (outcome.state == TrialState::kComplete) trial.value = outcome.value;
}

std::optional<FrozenTrial> Study::best_trial() const {
  const FrozenTrial* best = nullptr;
  for (const FrozenTrial& t : history_.trials()) {
    if (t.state != TrialState::kComplete || !t.value || std::isnan(*t.value)) continue;
    if (!best || is_better(space_.direction(), *t.value, *best->value)) best = &t;
  }
  if (!best) return std::nullopt;
  return *best;
}

size_t Study::count(TrialState state) const {
  return static_cast<size_t>(
      std::count_if(history_.trials().begin(), history_.trials().end(),
                    [state](const FrozenTrial& t) { return t.state == state; }));
}

}  // namespace pixelrec::hpo
