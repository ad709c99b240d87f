// `pixelrec hpo worker --coordinator HOST:PORT`: one worker group of a distributed study, run as a
// k-rank job (mpirun/srun/torchrun, or one process). Rank 0 leases trials from the coordinator and
// reports each epoch's validation metric; every rank trains the trial; the coordinator's prune
// answer is broadcast so all ranks stop at the same epoch. A retried trial (attempt > 1) resumes
// from its last checkpoint. When asked, the group evaluates the best trial on the test split.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/cli_common.h"
#include "app/torch/torch_commands.h"
#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"
#include "data/split_data.h"
#include "dist/communicator.h"
#include "eval/content_vectors.h"
#include "eval/eval_result.h"
#include "eval/evaluator.h"
#include "hpo/best_config.h"
#include "hpo/coordinator_client.h"
#include "hpo/coordinator_study.h"
#include "hpo/space.h"
#include "model/c10d_communicator.h"
#include "model/checkpoint_sidecar.h"
#include "model/trained_model.h"
#include "model/trainer.h"

namespace pixelrec::app {
namespace fs = std::filesystem;
namespace {

struct WorkerFlags {
  CommonOptions common;
  std::string coordinator;  // host:port; empty: <study_dir>/coordinator.json
  std::string token_file;   // empty: <study_dir>/coordinator.token
  std::string device = "cpu";
};

// The same text on every rank: rank 0's `text`.
std::string broadcast_text(dist::Communicator& comm, std::string text) {
  int64_t size = int64_t(text.size());
  comm.broadcast(&size, sizeof size, 0);
  text.resize(size_t(size));
  if (size > 0) comm.broadcast(text.data(), size_t(size), 0);
  return text;
}

// The lease reply as JSON, so rank 0 can send it to the others.
nlohmann::json lease_to_json(const hpo::LeaseReply& reply) {
  if (const auto* t = std::get_if<hpo::TrialTicket>(&reply))
    return {{"type", "trial"},
            {"trial", t->number},
            {"attempt", t->attempt},
            {"params", hpo::params_to_json(t->params)}};
  if (const auto* w = std::get_if<hpo::WaitReply>(&reply))
    return {{"type", "wait"}, {"retry_after_ms", w->retry_after.count()}};
  if (const auto* e = std::get_if<hpo::EvaluateRequest>(&reply))
    return {{"type", "evaluate"}, {"trial", e->trial}, {"params", hpo::params_to_json(e->params)}};
  return {{"type", "done"}};
}

std::string trial_run_name(int64_t number) { return fmt::format("trial_{:04d}", number); }

// The trial's configuration: the base with its parameters, its run folder and checkpoints under
// the study folder, and as many epochs as a full trial has.
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

struct TrialRun {
  hpo::TrialOutcome outcome;
  bool cancelled = false;  // the lease was lost: nothing to finish
};

TrialRun run_trial(const Config& base, const hpo::SearchSpace& space, const nlohmann::json& lease,
                   hpo::CoordinatorClient* client, dist::Communicator& comm,
                   const WorkerFlags& flags) {
  const int64_t number = lease.at("trial").get<int64_t>();
  const int64_t attempt = lease.at("attempt").get<int64_t>();
  const Config config = trial_config(base, space, lease.at("params"));
  const std::string metric = base.hyperparameter_search.optimize_metric;
  const bool maximize = base.hyperparameter_search.direction == "maximize";

  model::TrainOptions options;
  options.run_name = trial_run_name(number);
  options.device = flags.device;
  options.local_rank = dist::detect_launch_env(dist::process_environment()).local_rank;
  options.progress = false;
  options.overwrite = true;
  const fs::path last = fs::path(config.checkpoint_dir) / options.run_name / "last.pt";
  if (attempt > 1 && fs::exists(last)) {
    options.resume = "last";
    spdlog::info("trial {} attempt {}: resuming from {}", number, attempt, last.string());
  }
  double best = NAN;
  bool pruned = false, cancelled = false;
  std::string failure;  // set on rank 0 when reporting failed: every rank stops the trial
  // Runs on rank 0 only; must not throw (the other ranks wait for its stop decision).
  options.on_epoch_end = [&](int epoch, const std::vector<std::pair<std::string, double>>& m) {
    double value = NAN;
    for (const auto& [name, v] : m)
      if (name == metric) value = v;
    if (std::isnan(value)) {
      failure = "hyperparameter_search.optimize_metric '" + metric +
                "' is not among the epoch's metrics (or is NaN); use a validation metric such "
                "as val_ndcg@10 or val_loss";
      return true;
    }
    if (std::isnan(best) || (maximize ? value > best : value < best)) best = value;
    try {
      const hpo::ReportReply reply = client->report(number, attempt, epoch + 1, value);
      pruned = reply == hpo::ReportReply::kPrune;
      cancelled = reply == hpo::ReportReply::kCancel || client->cancelled();
    } catch (const std::exception& e) {
      failure = std::string("reporting to the coordinator failed: ") + e.what();
      return true;
    }
    return pruned || cancelled;
  };
  if (client) client->start_heartbeat(number);
  TrialRun run;
  try {
    const model::TrainResult result = model::train(config, options, comm);
    if (result.interrupted_by)
      throw Error("trial interrupted by signal " + std::to_string(result.interrupted_by));
    if (!failure.empty())
      run.outcome = hpo::TrialOutcome::failed(failure);
    else if (cancelled)
      run.cancelled = true;
    else if (pruned)
      run.outcome = hpo::TrialOutcome::pruned("pruned by the coordinator");
    else if (std::isnan(best))
      run.outcome = hpo::TrialOutcome::failed("no validation value was reported");
    else
      run.outcome = hpo::TrialOutcome::complete(best);
  } catch (const std::exception& e) {
    run.outcome = hpo::TrialOutcome::failed(e.what());
  }
  if (client) client->stop_heartbeat();
  return run;
}

// The best trial's checkpoint on the test split, full-catalogue ranking; the result JSON is also
// written to <study_dir>/best_trial_test.json.
nlohmann::json evaluate_best(const Config& base, const hpo::SearchSpace& space,
                             const nlohmann::json& request, dist::Communicator& comm) {
  const int64_t number = request.at("trial").get<int64_t>();
  const Config config = trial_config(base, space, request.at("params"));
  const int threads = model::training_threads(config, comm.size());
  const SplitData split = load_split_data(config);
  const auto content = eval::load_content_vectors_if_any(config.feature_store_path(), threads);
  const eval::EvalContext context = eval::make_eval_context(split, content.get());
  const fs::path checkpoint = model::checkpoint_for(config, trial_run_name(number), "");
  auto trained = model::load_trained_model(config, split, checkpoint, /*final_activation=*/false);
  eval::EvalOptions options;
  options.task = eval::EvalTask::kFull;
  options.ks = config.evaluation.k_values;
  options.seed = uint64_t(config.evaluation.seed);
  options.threads = threads;
  const eval::EvalResult result = eval::evaluate(*trained->scorer, context, options, comm, "test");
  eval::ResultMeta meta;
  meta.config_fingerprint = model::config_fingerprint(config);
  meta.split = split.directory.string();
  meta.seed = options.seed;
  meta.model = checkpoint.string();
  const auto json = eval::result_to_json(result, meta, nullptr, "");
  if (comm.is_root())
    eval::write_result_json(hpo::study_directory(base) / "best_trial_test.json", json);
  return nlohmann::json::parse(json.dump());
}

void run_worker(const WorkerFlags& flags) {
  const dist::LaunchEnv env = dist::detect_launch_env(dist::process_environment());
  if (env.distributed()) init_logging("info", env.rank, env.world_size);
  const LoadedConfig loaded = load_config_from(flags.common);
  const Config& base = loaded.config;
  auto comm = model::make_training_communicator(base, env, flags.device);
  if (comm->rank() != 0) spdlog::set_level(spdlog::level::warn);
  model::set_compute_threads(model::training_threads(base, comm->size()));
  const hpo::SearchSpace space = hpo::SearchSpace::from_config(base.hyperparameter_search);

  std::unique_ptr<hpo::CoordinatorClient> client;
  if (comm->is_root()) {
    hpo::ClientOptions options;
    const fs::path study_dir = hpo::study_directory(base);
    if (flags.coordinator.empty()) {
      const hpo::CoordinatorEndpoint endpoint = hpo::read_coordinator_endpoint(study_dir);
      options.address = endpoint.address;
      options.token = endpoint.token;
    } else {
      options.address = flags.coordinator;
    }
    if (!flags.token_file.empty())
      options.token = std::string(trim(read_file(flags.token_file)));
    else if (options.token.empty() && !base.hyperparameter_search.coordinator.token.empty())
      options.token = base.hyperparameter_search.coordinator.token;
    else if (options.token.empty())
      options.token = std::string(trim(read_file(study_dir / "coordinator.token")));
    options.ranks = comm->size();
    client = std::make_unique<hpo::CoordinatorClient>(options);
    spdlog::info("worker {} ({} rank(s)) joined study '{}' at {}", hpo::default_worker_name(),
                 comm->size(), client->welcome().study, client->address());
  }
  int trials = 0;
  for (;;) {
    const std::string text =
        broadcast_text(*comm, client ? lease_to_json(client->lease()).dump() : std::string());
    const nlohmann::json lease = nlohmann::json::parse(text);
    const std::string type = lease.at("type").get<std::string>();
    if (type == "done") break;
    if (type == "wait") {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(lease.at("retry_after_ms").get<int64_t>()));
      continue;
    }
    if (type == "evaluate") {
      const int64_t number = lease.at("trial").get<int64_t>();
      spdlog::info("evaluating the best trial {} on test", number);
      if (client) client->start_heartbeat(number);
      nlohmann::json metrics;
      std::string error;  // sent as the evaluation's error, never as its metrics
      try {
        metrics = evaluate_best(base, space, lease, *comm).at("metrics");
      } catch (const std::exception& e) {
        error = e.what();
        spdlog::error("evaluating the best trial {} on test failed: {}", number, error);
      }
      if (client) {
        client->stop_heartbeat();
        if (error.empty())
          client->send_evaluation(number, metrics);
        else
          client->send_evaluation_error(number, error);
      }
      continue;
    }
    const int64_t number = lease.at("trial").get<int64_t>();
    spdlog::info("trial {} (attempt {}): {}", number, lease.at("attempt").get<int64_t>(),
                 lease.at("params").dump());
    const TrialRun run = run_trial(base, space, lease, client.get(), *comm, flags);
    ++trials;
    if (!client) continue;
    if (run.cancelled) {
      spdlog::warn("trial {}: the coordinator cancelled its lease; it runs elsewhere", number);
      continue;
    }
    client->finish(number, lease.at("attempt").get<int64_t>(), run.outcome);
    spdlog::info("trial {} {}{}", number, hpo::to_string(run.outcome.state),
                 run.outcome.value
                     ? fmt::format(" ({} = {:.5f})", base.hyperparameter_search.optimize_metric,
                                   *run.outcome.value)
                 : run.outcome.message.empty() ? ""
                                               : ": " + run.outcome.message);
  }
  spdlog::info("study finished; this worker ran {} trial(s)", trials);
}

}  // namespace

void register_hpo_worker(CLI::App& app) {
  auto flags = std::make_shared<WorkerFlags>();
  CLI::App* hpo = app.add_subcommand("hpo", "Hyperparameter search (LibTorch side)");
  hpo->require_subcommand(1);
  CLI::App* cmd = hpo->add_subcommand(
      "worker",
      "One worker group of a study: leases trials from the coordinator, trains each on every "
      "rank of this launch (mpirun/srun/torchrun or one process), reports each epoch's "
      "validation metric, stops pruned trials on all ranks at the same epoch, and exits when "
      "the study is done");
  add_common_options(*cmd, flags->common);
  cmd->add_option("--coordinator", flags->coordinator,
                  "HOST:PORT of `pixelrec hpo coordinator` (default: read from "
                  "<results_dir>/hpo/<study_name>/coordinator.json)");
  cmd->add_option(flag_names("--token-file"), flags->token_file,
                  "File holding the study's token (default: hyperparameter_search.coordinator."
                  "token, else <study folder>/coordinator.token)");
  cmd->add_option("--device", flags->device, "cpu | cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->callback([flags] { run_worker(*flags); });
}

}  // namespace pixelrec::app
