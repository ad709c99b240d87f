// `pixelrec hpo worker --coordinator HOST:PORT`: one worker group of a distributed study, run as a
// k-rank job (mpirun/srun/torchrun, or one process). Rank 0 leases trials from the coordinator and
// broadcasts what to do next; every rank trains the trial (hpo_trial_run.h). When asked, the group
// evaluates the best trial on the test split. A lost coordinator is reconnected to (else the
// group exits 75); a signal checkpoints the trial, releases it and ends the group (128 + signal);
// when rank 0 fails, every rank ends with its error.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/cli_common.h"
#include "app/torch/hpo_baseline_trial.h"
#include "app/torch/hpo_trial_run.h"
#include "app/torch/torch_commands.h"
#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"
#include "data/split_data.h"
#include "distributed/communicator.h"
#include "distributed/torch/c10d_communicator.h"
#include "eval/content_vectors.h"
#include "eval/eval_result.h"
#include "eval/evaluator.h"
#include "features/numeric_training.h"
#include "hpo/best_config.h"
#include "hpo/coordinator_client.h"
#include "hpo/coordinator_study.h"
#include "hpo/space.h"
#include "hpo/study_finished_marker.h"
#include "model/checkpoint_sidecar.h"
#include "model/device.h"
#include "model/interrupt.h"
#include "model/trained_model.h"

namespace pixelrec::app {
namespace fs = std::filesystem;
namespace {

// Exit status when the coordinator stays unreachable (EX_TEMPFAIL: run the worker again later).
constexpr int kCoordinatorLostStatus = 75;

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

// The best trial's checkpoint (or, in a baseline study, the baseline with its values) on the test
// split, full-catalogue ranking; the result JSON is also written to
// <study_dir>/best_trial_test.json.
nlohmann::json evaluate_best(const Config& base, const hpo::SearchSpace& space,
                             const nlohmann::json& request, dist::Communicator& comm) {
  const int64_t number = request.at("trial").get<int64_t>();
  const Config config = trial_config(base, space, request.at("params"));
  if (config.hyperparameter_search.target != "model") {  // a baseline study: no checkpoint
    const auto json = test_baseline(config, comm);
    if (comm.is_root())
      eval::write_result_json(hpo::study_directory(base) / "best_trial_test.json", json);
    return nlohmann::json::parse(json.dump());
  }
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
  meta.numeric_source = features::describe_numeric_source(
      config.data.numeric_source, !config.data.numerical_features_cols.empty());
  const auto json = eval::result_to_json(result, meta, nullptr, "");
  if (comm.is_root())
    eval::write_result_json(hpo::study_directory(base) / "best_trial_test.json", json);
  return nlohmann::json::parse(json.dump());
}

// Where the coordinator is and the token it wants: --coordinator, else the study folder's
// coordinator.json; --token-file, else the config's token, else the study's coordinator.token.
// Read again before every connection attempt: a coordinator restarted with --resume listens on
// a new port with a new token. With no coordinator.json but the study's finished marker for this
// n_trials, throws StudyAlreadyFinished (a worker group that started after the study ended).
hpo::CoordinatorEndpoint resolve_endpoint(const WorkerFlags& flags, const Config& base) {
  const fs::path study_dir = hpo::study_directory(base);
  hpo::CoordinatorEndpoint endpoint;
  std::error_code ec;
  if (flags.coordinator.empty() && !fs::exists(study_dir / "coordinator.json", ec)) {
    const auto finished = hpo::read_finished_marker(study_dir);
    if (finished && finished->n_trials >= base.hyperparameter_search.n_trials)
      throw hpo::StudyAlreadyFinished(*finished);
  }
  if (flags.coordinator.empty())
    endpoint = hpo::read_coordinator_endpoint(study_dir);
  else
    endpoint.address = flags.coordinator;
  if (!flags.token_file.empty())
    endpoint.token = std::string(trim(read_file(flags.token_file)));
  else if (endpoint.token.empty() && !base.hyperparameter_search.coordinator.token.empty())
    endpoint.token = base.hyperparameter_search.coordinator.token;
  else if (endpoint.token.empty())
    endpoint.token = std::string(trim(read_file(study_dir / "coordinator.token")));
  return endpoint;
}

// Rank 0's link to the coordinator, and what it still owes it after losing the connection.
struct Session {
  std::unique_ptr<hpo::CoordinatorClient> client;
  int connect_timeout_seconds = 60;
  // A trial whose result or release could not be delivered: sent again after reconnecting.
  struct Owed {
    int64_t trial = 0, attempt = 0;
    std::optional<hpo::TrialOutcome> outcome;  // finish with it; none: release
    std::string why;
  };
  std::optional<Owed> owed;
  int exit_status = 0;  // set: leave the study after this trial (pre-empted)
  std::string exit_message;
};

nlohmann::json exit_instruction(int status, const std::string& message) {
  return {{"type", "exit"}, {"status", status}, {"message", message}};
}

void deliver(hpo::CoordinatorClient& client, const Session::Owed& owed) {
  if (owed.outcome)
    client.finish(owed.trial, owed.attempt, *owed.outcome);
  else
    client.release(owed.trial, owed.attempt, owed.why);
}

// Rank 0: what the group does next — a lease answer, or exit {status, message}. Reconnects when
// the coordinator was lost (exit kCoordinatorLostStatus when that fails). Never throws.
nlohmann::json next_instruction(Session& s) {
  if (s.exit_status != 0) return exit_instruction(s.exit_status, s.exit_message);
  if (const int signal = model::pending_interrupt())
    return exit_instruction(128 + signal, fmt::format("signal {} received between trials", signal));
  for (int failures = 0;; ++failures) {
    if (s.client->lost()) {
      spdlog::warn("lost the coordinator at {}; reconnecting (for up to {} s)", s.client->address(),
                   s.connect_timeout_seconds);
      try {
        s.client->reconnect();
      } catch (const hpo::StudyAlreadyFinished& e) {
        spdlog::info("{}", e.what());  // it ended while this group was away: done
        return {{"type", "done"}};
      } catch (const std::exception& e) {
        return exit_instruction(kCoordinatorLostStatus,
                                fmt::format("cannot reach the coordinator: {}", e.what()));
      }
      spdlog::info("reconnected to the coordinator at {}", s.client->address());
    }
    try {
      if (s.owed) {
        deliver(*s.client, *s.owed);
        s.owed.reset();
      }
      return lease_to_json(s.client->lease());
    } catch (const std::exception& e) {
      // A failed request leaves the client lost: reconnect and ask again, three times at most.
      if (failures >= 2)
        return exit_instruction(kCoordinatorLostStatus,
                                fmt::format("cannot reach the coordinator: {}", e.what()));
    }
  }
}

// Rank 0 after a trial: deliver its end to the coordinator, or owe it until reconnected.
void conclude_trial(Session& s, int64_t number, int64_t attempt, const TrialRun& run,
                    const Config& base) {
  using End = TrialRun::End;
  if (run.end == End::kCancelled) {
    spdlog::warn("trial {}: {}", number, run.why);
    return;
  }
  Session::Owed owed{number, attempt, std::nullopt, run.why};
  if (run.end == End::kFinished) owed.outcome = run.outcome;
  if (run.end == End::kPreempted) {
    s.exit_status = 128 + run.signal;
    s.exit_message = fmt::format("trial {} {}", number, run.why);
  }
  if (run.end == End::kLost) spdlog::warn("trial {}: {}", number, run.why);
  try {
    if (s.client->lost()) throw Error("the connection was lost");
    deliver(*s.client, owed);
  } catch (const std::exception& e) {
    spdlog::warn("trial {}: could not tell the coordinator ({}); retrying after reconnecting",
                 number, e.what());
    s.owed = owed;
    if (run.end == End::kPreempted) s.owed.reset();  // leaving now: its lease expires instead
  }
  if (run.end == End::kFinished)
    spdlog::info("trial {} {}{}", number, hpo::to_string(run.outcome.state),
                 run.outcome.value
                     ? fmt::format(" ({} = {:.5f})", base.hyperparameter_search.optimize_metric,
                                   *run.outcome.value)
                 : run.outcome.message.empty() ? ""
                                               : ": " + run.outcome.message);
}

void run_worker(const WorkerFlags& flags) {
  const dist::LaunchEnv env = dist::detect_launch_env(dist::process_environment());
  if (env.distributed()) init_logging("info", env.rank, env.world_size);
  const LoadedConfig loaded = load_config_from(flags.common);
  const Config& base = loaded.config;
  const auto& coordinator = base.hyperparameter_search.coordinator;
  auto comm = dist::make_training_communicator(base, env, flags.device);
  // A stalled or dead rank ends the group instead of hanging it (as in `pixelrec train`).
  comm->set_timeout(std::chrono::seconds(base.distributed.timeout_seconds));
  if (comm->size() > 1 && coordinator.connect_timeout_seconds >= base.distributed.timeout_seconds)
    throw ConfigError(
        fmt::format("hyperparameter_search.coordinator.connect_timeout_seconds ({}) must be below "
                    "distributed.timeout_seconds ({}): the other ranks of a worker group wait in a "
                    "collective while rank 0 reconnects",
                    coordinator.connect_timeout_seconds, base.distributed.timeout_seconds));
  if (comm->rank() != 0) spdlog::set_level(spdlog::level::warn);
  model::set_compute_threads(model::training_threads(base, comm->size()));
  const hpo::SearchSpace space = hpo::SearchSpace::from_config(base.hyperparameter_search);
  // SIGTERM/SIGINT/SIGUSR1 are recorded for the whole session: during a trial the trainer saves a
  // checkpoint and the trial is released; between trials the group just leaves.
  model::install_interrupt_handlers();
  struct RestoreHandlers {
    ~RestoreHandlers() { model::restore_interrupt_handlers(); }
  } restore_handlers;

  Session session;
  session.connect_timeout_seconds = coordinator.connect_timeout_seconds;
  std::string join_error;  // rank 0 could not join: every rank ends with it
  bool finished_before_joining = false;
  if (comm->is_root()) {
    hpo::ClientOptions options;
    options.rediscover = [&flags, &base] { return resolve_endpoint(flags, base); };
    options.address = flags.coordinator.empty()
                          ? (hpo::study_directory(base) / "coordinator.json").string()
                          : flags.coordinator;
    options.interrupted = [] { return model::pending_interrupt() != 0; };
    options.ranks = comm->size();
    options.connect_deadline = std::chrono::seconds(coordinator.connect_timeout_seconds);
    options.stall_timeout = std::chrono::seconds(coordinator.stall_timeout_seconds);
    try {
      session.client = std::make_unique<hpo::CoordinatorClient>(options);
      spdlog::info("worker {} ({} rank(s)) joined study '{}' at {}", hpo::default_worker_name(),
                   comm->size(), session.client->welcome().study, session.client->address());
    } catch (const hpo::StudyAlreadyFinished& e) {
      spdlog::info("{}; this worker group started after it and has nothing to do", e.what());
      finished_before_joining = true;
    } catch (const std::exception& e) {
      join_error = e.what();
    }
  }
  int trials = 0;
  for (;;) {
    std::string text;
    if (comm->is_root())
      text = !join_error.empty()       ? exit_instruction(1, join_error).dump()
             : finished_before_joining ? nlohmann::json{{"type", "done"}}.dump()
                                       : next_instruction(session).dump();
    const nlohmann::json lease = nlohmann::json::parse(broadcast_text(*comm, text));
    const std::string type = lease.at("type").get<std::string>();
    if (type == "done") break;
    if (type == "exit") {
      const int status = lease.at("status").get<int>();
      const std::string message = lease.at("message").get<std::string>();
      if (status == 1)
        throw Error(comm->is_root() ? message : "rank 0 of this worker group failed: " + message);
      spdlog::warn("{}; leaving the study after {} trial(s) (exit status {})", message, trials,
                   status);
      set_exit_status(status);
      return;
    }
    if (type == "wait") {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(lease.at("retry_after_ms").get<int64_t>()));
      continue;
    }
    auto* client = session.client.get();
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
        try {
          if (error.empty())
            client->send_evaluation(number, metrics);
          else
            client->send_evaluation_error(number, error);
        } catch (const std::exception& e) {  // asked again once reconnected
          spdlog::warn("sending the test evaluation of trial {} failed: {}", number, e.what());
        }
      }
      continue;
    }
    const int64_t number = lease.at("trial").get<int64_t>();
    const int64_t attempt = lease.at("attempt").get<int64_t>();
    spdlog::info("trial {} (attempt {}): {}", number, attempt, lease.at("params").dump());
    const TrialRun run = run_trial(base, space, lease, client, *comm, flags.device);
    ++trials;
    if (client) conclude_trial(session, number, attempt, run, base);
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
