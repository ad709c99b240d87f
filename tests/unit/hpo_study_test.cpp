// The study over SQLite: resuming after a simulated crash (RUNNING → STALE → re-run with the same
// parameters), determinism given the seed (also across a crash), ASHA decisions rebuilt from the
// stored reports equal to the live ones, conditional parameters, best trial by direction.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.h"
#include "hpo/asha.h"
#include "hpo/random_sampler.h"
#include "hpo/study.h"
#include "hpo/tpe_sampler.h"
#include "support/test_support.h"

namespace pixelrec::hpo {
namespace {

using test::ScratchDir;

SearchSpace quadratic_space(Direction direction = Direction::kMinimize) {
  return SearchSpace::parse(YAML::Load("x: {type: float, low: -5, high: 5}\n"
                                       "y: {type: int, low: -5, high: 5}\n"),
                            direction, "test");
}

double quadratic(const ParamMap& p) {
  const double x = std::get<double>(p.at("x"));
  const double y = static_cast<double>(std::get<int64_t>(p.at("y")));
  return (x - 1) * (x - 1) + (y + 2) * (y + 2);
}

std::unique_ptr<Study> open_study(StudyStorage& storage, uint64_t seed = 7,
                                  std::unique_ptr<Pruner> pruner = nullptr) {
  return std::make_unique<Study>(storage, "quad", quadratic_space(),
                                 std::make_unique<TpeSampler>(seed), std::move(pruner));
}

// Runs trials until the study holds `n`, each completed with the quadratic.
void run_to(Study& study, size_t n) {
  while (study.has_requeued() || study.history().size() < n) {
    const TrialTicket t = study.ask("w:1");
    study.tell(t.number, TrialOutcome::complete(quadratic(t.params)));
  }
}

TEST(HpoStudy, ResumesAfterACrashByRerunningStaleTrialsWithTheirParameters) {
  ScratchDir dir("hpo_study");
  ParamMap crashed_params;
  {
    StudyStorage storage(dir / "study.db");
    auto study = open_study(storage);
    run_to(*study, 3);
    const TrialTicket t = study->ask("w:1");  // trial 3 starts; the process dies here
    EXPECT_EQ(t.number, 3);
    crashed_params = t.params;
    study->report(3, 1, 2.5);
  }
  StudyStorage storage(dir / "study.db");
  auto study = open_study(storage);
  EXPECT_EQ(study->history().size(), 4u);
  EXPECT_EQ(study->history().at(3).state, TrialState::kRunning);
  EXPECT_EQ(study->requeue_running("run died"), (std::vector<int64_t>{3}));
  EXPECT_EQ(storage.trials(study->record().id)[3].trial.state, TrialState::kStale);
  EXPECT_EQ(storage.trials(study->record().id)[3].message, "run died");
  EXPECT_TRUE(study->has_requeued());

  const TrialTicket rerun = study->ask("w:2");
  EXPECT_EQ(rerun.number, 3);
  EXPECT_EQ(rerun.params, crashed_params);
  EXPECT_EQ(rerun.attempt, 2);
  EXPECT_EQ(study->report(3, 1, 2.0), Decision::kContinue);
  study->tell(3, TrialOutcome::complete(quadratic(rerun.params)));
  EXPECT_FALSE(study->has_requeued());
  EXPECT_EQ(study->ask("w:2").number, 4);  // then new trials

  const auto stored = storage.trials(study->record().id);
  EXPECT_EQ(stored[3].trial.state, TrialState::kComplete);
  EXPECT_EQ(stored[3].attempt, 2);
  EXPECT_EQ(stored[3].worker, "w:2");
  // Both attempts' reports are kept, each tagged with its attempt.
  const auto reports = storage.reports(study->record().id);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].attempt, 1);
  EXPECT_EQ(reports[1].attempt, 2);
  EXPECT_EQ(study->history().at(3).intermediate_values.at(1), 2.0);
}

TEST(HpoStudy, SameSeedGivesTheSameTrialsWithOrWithoutACrash) {
  ScratchDir dir("hpo_study");
  StudyStorage a_storage(dir / "a.db");
  auto a = open_study(a_storage, 11);
  run_to(*a, 25);

  {  // b: crashes while trial 14 runs, then resumes
    StudyStorage storage(dir / "b.db");
    auto b = open_study(storage, 11);
    run_to(*b, 14);
    b->ask("w:1");
  }
  StudyStorage b_storage(dir / "b.db");
  auto b = open_study(b_storage, 11);
  b->requeue_running("crash");
  run_to(*b, 25);

  StudyStorage c_storage(dir / "c.db");
  auto c = open_study(c_storage, 12);
  run_to(*c, 25);

  ASSERT_EQ(b->history().size(), 25u);
  int differing_from_other_seed = 0;
  for (int64_t i = 0; i < 25; ++i) {
    EXPECT_EQ(a->history().at(i).params, b->history().at(i).params) << "trial " << i;
    EXPECT_EQ(a->history().at(i).value, b->history().at(i).value);
    differing_from_other_seed += a->history().at(i).params != c->history().at(i).params;
  }
  EXPECT_EQ(differing_from_other_seed, 25);
  // TPE after the 10 start-up trials finds a better point than the start-up trials did.
  double startup_best = INFINITY;
  for (int64_t i = 0; i < 10; ++i) startup_best = std::min(startup_best, *a->history().at(i).value);
  EXPECT_LT(*a->best_trial()->value, startup_best);
}

TEST(HpoStudy, ParallelAskSeesOnlyTrialsThatMustHaveFinished) {
  ScratchDir dir("hpo_study");
  StudyStorage storage(dir / "study.db");
  auto study = open_study(storage, 3);
  // parallelism 2: trial n sees trials 0 .. n-2, so trial 1 may start while trial 0 runs.
  EXPECT_TRUE(study->can_sample_new(2));
  const TrialTicket t0 = study->ask("w", 2);
  EXPECT_TRUE(study->can_sample_new(2));
  const TrialTicket t1 = study->ask("w", 2);
  EXPECT_FALSE(study->can_sample_new(2));  // trial 2 needs trial 0 finished
  EXPECT_THROW(study->ask("w", 2), InternalError);
  study->tell(t1.number, TrialOutcome::complete(1.0));
  EXPECT_FALSE(study->can_sample_new(2));  // trial 1 finishing first does not help
  study->tell(t0.number, TrialOutcome::failed("exit 1"));
  EXPECT_TRUE(study->can_sample_new(2));
  EXPECT_EQ(study->ask("w", 2).number, 2);
}

TEST(HpoStudy, AshaDecisionsFromStoredReportsEqualLiveOnes) {
  ScratchDir dir("hpo_study");
  AshaOptions asha;
  asha.min_resource = 1;
  asha.max_resource = 9;
  asha.reduction_factor = 3;
  auto make_asha = [&] { return std::make_unique<AshaPruner>(asha, Direction::kMinimize); };

  // 12 trials report steps 1..9 in an interleaved order; values from a seeded stream.
  std::vector<Report> reports;
  Rng rng(5);
  for (int64_t round = 0; round < 3; ++round) {
    for (int64_t trial = 0; trial < 12; ++trial) {
      for (int64_t step = round * 3 + 1; step <= round * 3 + 3; ++step) {
        reports.push_back({trial, step, rng.uniform() + 1.0 / static_cast<double>(step)});
      }
    }
  }
  StudyStorage live_storage(dir / "live.db");
  auto live = open_study(live_storage, 1, make_asha());
  for (int i = 0; i < 12; ++i) live->ask("w", 12);
  std::vector<Decision> live_decisions;
  std::vector<bool> pruned(12, false);
  for (const Report& r : reports) {
    if (pruned[static_cast<size_t>(r.trial)]) continue;  // a pruned objective stops reporting
    live_decisions.push_back(live->report(r.trial, r.step, r.value));
    if (live_decisions.back() == Decision::kPrune) pruned[static_cast<size_t>(r.trial)] = true;
  }
  EXPECT_GT(std::count(live_decisions.begin(), live_decisions.end(), Decision::kPrune), 3);

  std::vector<Report> stored;
  for (const StoredReport& r : live_storage.reports(live->record().id)) stored.push_back(r.report);
  ASSERT_EQ(stored.size(), live_decisions.size());
  AshaPruner replay(asha, Direction::kMinimize);
  EXPECT_EQ(replay.rebuild(stored), live_decisions);

  // A study reopened halfway (pruner rebuilt from storage) decides the rest exactly as live.
  const size_t half = stored.size() / 2;
  {
    StudyStorage storage(dir / "half.db");
    auto first = open_study(storage, 1, make_asha());
    for (int i = 0; i < 12; ++i) first->ask("w", 12);
    for (size_t i = 0; i < half; ++i)
      first->report(stored[i].trial, stored[i].step, stored[i].value);
  }
  StudyStorage storage(dir / "half.db");
  auto reopened = open_study(storage, 1, make_asha());
  for (size_t i = half; i < stored.size(); ++i) {
    EXPECT_EQ(reopened->report(stored[i].trial, stored[i].step, stored[i].value), live_decisions[i])
        << "report " << i;
  }
}

TEST(HpoStudy, ConditionalParametersAndBestTrialByDirection) {
  ScratchDir dir("hpo_study");
  StudyStorage storage(dir / "study.db");
  const SearchSpace space = SearchSpace::parse(
      YAML::Load("opt: {type: categorical, choices: [adam, sgd]}\n"
                 "momentum: {type: float, low: 0.5, high: 0.99, condition: {opt: sgd}}\n"),
      Direction::kMaximize, "test");
  Study study(storage, "cond", space, std::make_unique<RandomSampler>(4), nullptr);
  EXPECT_FALSE(study.best_trial().has_value());
  int sgd = 0;
  for (int i = 0; i < 30; ++i) {
    const TrialTicket t = study.ask("w");
    const bool is_sgd = std::get<std::string>(t.params.at("opt")) == "sgd";
    sgd += is_sgd;
    EXPECT_EQ(t.params.count("momentum"), is_sgd ? 1u : 0u);
    // Maximize: the value is the momentum (0 for adam); trial 5 fails.
    if (i == 5) {
      study.tell(t.number, TrialOutcome::failed("boom"));
    } else {
      study.tell(t.number,
                 TrialOutcome::complete(is_sgd ? std::get<double>(t.params.at("momentum")) : 0.0));
    }
  }
  EXPECT_GT(sgd, 5);
  EXPECT_LT(sgd, 25);
  double best = -1;
  for (const FrozenTrial& t : study.history().trials()) {
    if (t.value) best = std::max(best, *t.value);
  }
  ASSERT_TRUE(study.best_trial().has_value());
  EXPECT_EQ(*study.best_trial()->value, best);
  EXPECT_EQ(study.count(TrialState::kFailed), 1u);
  EXPECT_EQ(study.count(TrialState::kComplete), 29u);
  EXPECT_EQ(storage.trials(study.record().id)[5].message, "boom");
}

TEST(HpoStudy, ReportAndTellNeedARunningTrial) {
  ScratchDir dir("hpo_study");
  StudyStorage storage(dir / "study.db");
  auto study = open_study(storage);
  const TrialTicket t = study->ask("w");
  study->tell(t.number, TrialOutcome::pruned("pruned at step 3"));
  EXPECT_THROW(study->report(t.number, 4, 1.0), InternalError);
  EXPECT_THROW(study->tell(t.number, TrialOutcome::complete(1.0)), InternalError);
  EXPECT_EQ(storage.trials(study->record().id)[0].trial.state, TrialState::kPruned);
}

TEST(HpoStudy, SpaceJsonRecordsEveryField) {
  const SearchSpace space = SearchSpace::parse(
      YAML::Load("lr: {type: float, low: 0.001, high: 0.1, log: true}\n"
                 "opt: {type: categorical, choices: [adam, 64]}\n"
                 "m: {type: int, low: 0, high: 10, step: 2, condition: {opt: adam}}\n"),
      Direction::kMinimize, "test");
  const nlohmann::json j = space_to_json(space);
  EXPECT_EQ(j["direction"], "minimize");
  ASSERT_EQ(j["params"].size(), 3u);
  EXPECT_EQ(j["params"][0]["name"], "lr");
  EXPECT_EQ(j["params"][0]["log"], true);
  EXPECT_EQ(j["params"][0]["low"], 0.001);
  EXPECT_EQ(j["params"][1]["choices"], nlohmann::json::parse("[\"adam\", 64]"));
  EXPECT_EQ(j["params"][2]["step"], 2.0);
  EXPECT_EQ(j["params"][2]["conditions"][0]["param"], "opt");
  EXPECT_EQ(j["params"][2]["conditions"][0]["value"], "adam");
}

}  // namespace
}  // namespace pixelrec::hpo
