#include "app/torch/hpo_trial_run.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>

#include "app/torch/hpo_baseline_trial.h"
#include "distributed/launch_env.h"
#include "hpo/best_config.h"
#include "hpo/coordinator_study.h"
#include "train/loop/trainer.h"
#include "train/metrics_log.h"

namespace pixelrec::app {
namespace fs = std::filesystem;

std::string trial_run_name(int64_t number) { return fmt::format("trial_{:04d}", number); }

Config trial_config(const Config& base, const hpo::SearchSpace& space,
                    const nlohmann::json& params) {
  Config config = hpo::config_with_params(base, space, hpo::params_from_json(params));
  const fs::path study_dir = hpo::study_directory(base);
  config.results_dir = (study_dir / "trials").string();
  config.checkpoint_dir = (study_dir / "checkpoints").string();
  const auto& asha = base.hyperparameter_search.asha;
  if (base.hyperparameter_search.pruner == "asha" && asha.max_resource > 0)
    config.training.epochs = asha.max_resource;
  return config;
}

namespace {

// Rank 0's side of a trial: the values it reported and what the coordinator answered. The
// callbacks run on rank 0 only and must not throw (the other ranks wait for their decision).
struct Reporter {
  hpo::CoordinatorClient* client = nullptr;
  int64_t number = 0, attempt = 0;
  std::string metric;
  bool maximize = false;
  double best = NAN;
  bool pruned = false, cancelled = false, lost = false;
  std::string failure;  // the metric is missing: every rank stops the trial

  // Reports `value` at `step` (the epoch, from 1); true: stop the trial.
  bool report(int64_t step, double value) {
    if (std::isnan(value)) {
      failure = "hyperparameter_search.optimize_metric '" + metric +
                "' is not among the epoch's metrics (or is NaN); use a validation metric such "
                "as val_ndcg@10 or val_loss";
      return true;
    }
    if (std::isnan(best) || (maximize ? value > best : value < best)) best = value;
    if (client->lost()) {  // the heartbeat found the coordinator gone
      lost = true;
      return true;
    }
    try {
      const hpo::ReportReply reply = client->report(number, attempt, step, value);
      pruned = reply == hpo::ReportReply::kPrune;
      cancelled = reply == hpo::ReportReply::kCancel || client->cancelled();
    } catch (const std::exception& e) {
      // Not a prune decision: the trial stops unfinished and runs again once a coordinator is
      // reachable, resuming from the checkpoint this epoch just wrote.
      spdlog::warn("trial {}: reporting epoch {} failed: {}", number, step, e.what());
      lost = true;
      return true;
    }
    return pruned || cancelled;
  }
};

// A baseline trial: one fit and one validation, so nothing to prune or resume; the value goes to
// the coordinator with finish.
TrialRun run_baseline_trial(const Config& config, int64_t number, hpo::CoordinatorClient* client,
                            dist::Communicator& comm) {
  const auto& h = config.hyperparameter_search;
  if (client) client->start_heartbeat(number);
  TrialRun run;
  try {
    const auto metrics = validate_baseline(config, trial_run_name(number), comm);
    const double value = train::metric_value(metrics, h.optimize_metric);
    if (std::isnan(value)) {
      std::string names;
      for (const auto& [name, v] : metrics) names += (names.empty() ? "" : ", ") + name;
      run.outcome = hpo::TrialOutcome::failed(
          "hyperparameter_search.optimize_metric '" + h.optimize_metric + "' is not among the '" +
          h.target + "' baseline's validation metrics (" + names + ")");
    } else {
      run.outcome = hpo::TrialOutcome::complete(value);
    }
  } catch (const std::exception& e) {
    run.outcome = hpo::TrialOutcome::failed(e.what());
  }
  if (client) {
    client->stop_heartbeat();
    if (client->cancelled()) {
      run.end = TrialRun::End::kCancelled;
      run.why = "the coordinator cancelled its lease; it runs elsewhere";
    }
  }
  return run;
}

}  // namespace

TrialRun run_trial(const Config& base, const hpo::SearchSpace& space, const nlohmann::json& lease,
                   hpo::CoordinatorClient* client, dist::Communicator& comm,
                   const std::string& device) {
  const int64_t number = lease.at("trial").get<int64_t>();
  const int64_t attempt = lease.at("attempt").get<int64_t>();
  const Config config = trial_config(base, space, lease.at("params"));
  const auto& h = base.hyperparameter_search;
  if (h.target != "model") return run_baseline_trial(config, number, client, comm);
  Reporter reporter;
  reporter.client = client;
  reporter.number = number;
  reporter.attempt = attempt;
  reporter.metric = h.optimize_metric;
  reporter.maximize = h.direction == "maximize";

  train::TrainOptions options;
  options.run_name = trial_run_name(number);
  options.device = device;
  options.local_rank = dist::detect_launch_env(dist::process_environment()).local_rank;
  options.progress = false;
  options.overwrite = true;
  const fs::path last = fs::path(config.checkpoint_dir) / options.run_name / "last.pt";
  if (attempt > 1 && fs::exists(last)) {
    options.resume = "last";
    spdlog::info("trial {} attempt {}: resuming from {}", number, attempt, last.string());
  }
  // Set on every rank (the trainer's collectives depend on it); called on rank 0 only.
  options.on_epoch_end = [&](int epoch, const std::vector<std::pair<std::string, double>>& m) {
    return reporter.report(epoch + 1, train::metric_value(m, reporter.metric));
  };
  options.on_resume = [&](const std::vector<train::EpochMetrics>& recorded) {
    for (const train::EpochMetrics& row : recorded)
      if (reporter.report(row.epoch + 1, train::metric_value(row.values, reporter.metric)))
        return true;
    if (!recorded.empty())
      spdlog::info("trial {}: reported the {} epoch(s) its checkpoint had completed", number,
                   recorded.size());
    return false;
  };
  options.stop_request = [&] {
    // A lost lease means another group may own the trial now: write nothing more.
    if (client->cancelled() || client->stalled()) return train::StopRequest::kAbandon;
    if (client->lost()) return train::StopRequest::kCheckpoint;
    return train::StopRequest::kNone;
  };
  options.on_progress = [&](int64_t step) { client->note_progress(step); };

  if (client) client->start_heartbeat(number, /*watch_progress=*/true);
  TrialRun run;
  try {
    const train::TrainResult result = train::train(config, options, comm);
    if (result.interrupted_by) {
      run.end = TrialRun::End::kPreempted;
      run.signal = result.interrupted_by;
      run.why = fmt::format("pre-empted by signal {} after {} epoch(s); resumes from {}",
                            result.interrupted_by, result.epochs_completed, last.string());
    } else if (result.abandoned || reporter.cancelled) {
      run.end = TrialRun::End::kCancelled;
      run.why = client && client->stalled()
                    ? "its training stalled, so its lease was left to expire"
                    : "the coordinator cancelled its lease; it runs elsewhere";
    } else if (result.stopped_by_request || reporter.lost) {
      run.end = TrialRun::End::kLost;
      run.why = fmt::format("lost the coordinator after {} epoch(s); resumes from {}",
                            result.epochs_completed, last.string());
    } else if (!reporter.failure.empty()) {
      run.outcome = hpo::TrialOutcome::failed(reporter.failure);
    } else if (reporter.pruned) {
      run.outcome = hpo::TrialOutcome::pruned("pruned by the coordinator");
    } else if (std::isnan(reporter.best)) {
      run.outcome = hpo::TrialOutcome::failed("no validation value was reported");
    } else {
      run.outcome = hpo::TrialOutcome::complete(reporter.best);
    }
  } catch (const std::exception& e) {
    run.outcome = hpo::TrialOutcome::failed(e.what());
  }
  if (client) client->stop_heartbeat();
  return run;
}

}  // namespace pixelrec::app
