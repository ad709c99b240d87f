// `pixelrec evaluate`: one or several recommenders (the trained model and/or baselines) on one
// task, with result JSON, per-user CSV, optional predictions and paired significance tests.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>

#include "app/cli_common.h"
#include "app/torch/torch_commands.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/logging.h"
#include "core/strings.h"
#include "distributed/communicator.h"
#include "distributed/torch/c10d_communicator.h"
#include "eval/baselines.h"
#include "eval/content_vectors.h"
#include "eval/eval_result.h"
#include "eval/evaluator.h"
#include "features/feature_store.h"
#include "features/numeric_training.h"
#include "model/checkpoint_sidecar.h"
#include "model/device.h"
#include "model/trained_model.h"

namespace pixelrec::app {
namespace fs = std::filesystem;
namespace {

struct EvaluateFlags {
  CommonOptions common;
  std::string recommenders = "multimodal";
  std::string task = "sampled";
  std::string run_name, checkpoint, output, predictions, baseline, part = "test";
  std::string ks;
  std::string device = "cpu";
  int num_negatives = 0;
};

std::vector<int> parse_ks(const std::string& text) {
  std::vector<int> ks;
  for (const auto& part : split(text, ',')) {
    const auto k = parse_int(part);
    if (!k || *k < 1) throw UsageError("--k '" + text + "': give positive integers, e.g. 5,10,20");
    ks.push_back(int(*k));
  }
  return ks;
}

fs::path default_output(const Config& config, const EvaluateFlags& f, const std::string& name) {
  const fs::path dir = f.run_name.empty() ? fs::path(config.results_dir) / "eval"
                                          : fs::path(config.results_dir) / f.run_name / "eval";
  return dir / (name + "_" + f.task + (f.part == "test" ? "" : "_" + f.part) + ".json");
}

void print_table(const std::vector<eval::EvalResult>& results, const std::vector<int>& ks) {
  const int k = ks.size() > 1 ? ks[1] : ks[0];
  const std::string K = "@" + std::to_string(k);
  const std::vector<std::string> columns = {"ndcg" + K,      "hit_rate" + K, "recall" + K,
                                            "precision" + K, "map" + K,      "mrr",
                                            "coverage" + K,  "novelty" + K,  "diversity" + K};
  std::string header = fmt::format("{:<12}", "recommender");
  for (const auto& c : columns) header += fmt::format(" {:>13}", c);
  std::cout << header << "\n";
  for (const auto& r : results) {
    std::string line = fmt::format("{:<12}", r.recommender);
    for (const auto& c : columns) {
      double value = std::numeric_limits<double>::quiet_NaN();
      for (const auto& [name, v] : r.metrics)
        if (name == c) value = v;
      line += std::isnan(value) ? fmt::format(" {:>13}", "-") : fmt::format(" {:>13.4f}", value);
    }
    std::cout << line << "\n";
  }
  std::cout.flush();
}

void run_evaluate(const EvaluateFlags& f) {
  const dist::LaunchEnv env = dist::detect_launch_env(dist::process_environment());
  if (env.distributed()) init_logging("info", env.rank, env.world_size);
  const LoadedConfig loaded = load_config_from(f.common);
  const torch::Device device = model::compute_device(f.device, env.local_rank);
  auto comm = dist::make_training_communicator(loaded.config, env, "cpu");
  comm->set_timeout(std::chrono::seconds(loaded.config.distributed.timeout_seconds));
  const Config& config = loaded.config;
  if (comm->rank() != 0) spdlog::set_level(spdlog::level::warn);
  const int threads = model::training_threads(config, comm->size());
  model::set_compute_threads(threads);

  std::vector<std::string> names = split(f.recommenders, ',');
  if (names.size() > 1 && !f.output.empty())
    throw UsageError(
        "--output names one file; with several --recommender values the results go "
        "to <results_dir>/[<run>/]eval/<recommender>_<task>.json");
  if (names.size() > 1 && !f.predictions.empty())
    throw UsageError("--save-predictions needs a single --recommender");
  eval::EvalOptions options;
  options.task = eval::parse_eval_task(f.task);
  options.ks = f.ks.empty() ? config.evaluation.k_values : parse_ks(f.ks);
  options.num_negatives = f.num_negatives > 0 ? f.num_negatives : config.evaluation.num_negatives;
  options.seed = uint64_t(config.evaluation.seed);
  options.threads = threads;

  const SplitData split_data = load_split_data(config);
  const auto content = eval::load_content_vectors_if_any(config.feature_store_path(), threads);
  const eval::EvalContext context = eval::make_eval_context(split_data, content.get());
  const eval::BaselineInputs inputs =
      eval::baseline_inputs(config.evaluation, split_data, context.train, content.get(), threads);

  std::unique_ptr<model::TrainedModel> trained;
  const auto make_scorer = [&](const std::string& name) -> std::unique_ptr<eval::Scorer> {
    if (name != "multimodal") return eval::make_baseline(name, inputs);
    const fs::path path = model::checkpoint_for(config, f.run_name, f.checkpoint);
    // Under N ranks each rank holds and scores one item shard of the model (exact merge).
    trained = model::load_trained_model(config, split_data, path, /*final_activation=*/false,
                                        comm->rank(), comm->size(), device);
    spdlog::info("model: {} (run '{}', epoch {})", path.string(), trained->checkpoint.meta.run_name,
                 trained->checkpoint.state.epoch);
    return nullptr;
  };
  const auto evaluate_one = [&](const std::string& name, const std::string& predictions) {
    auto scorer = make_scorer(name);
    eval::Scorer& s = scorer ? *scorer : static_cast<eval::Scorer&>(*trained->scorer);
    eval::EvalOptions o = options;
    o.predictions_path = predictions;
    // A dot model scores a block as one matrix product: larger user blocks amortise the pass
    // over the item vectors (results do not depend on the block size).
    if (!scorer && trained->checkpoint.model->network()->dot()) o.user_batch = 1024;
    return eval::evaluate(s, context, o, *comm, f.part);
  };

  std::optional<eval::EvalResult> baseline;
  if (!f.baseline.empty()) baseline = evaluate_one(f.baseline, "");
  std::vector<eval::EvalResult> results;
  for (const auto& name : names) {
    // The baseline listed among the recommenders too is evaluated once.
    results.push_back(baseline && name == f.baseline && f.predictions.empty()
                          ? *baseline
                          : evaluate_one(name, f.predictions));
    const eval::EvalResult& r = results.back();
    if (!comm->is_root()) continue;
    eval::ResultMeta meta;
    meta.config_fingerprint = model::config_fingerprint(config);
    meta.split = split_data.directory.string();
    meta.seed = options.seed;
    if (name == "multimodal") meta.model = trained->checkpoint.path.string();
    meta.numeric_source = features::describe_numeric_source(
        config.data.numeric_source,
        name == "multimodal" && !config.data.numerical_features_cols.empty());
    std::vector<std::pair<std::string, eval::PairedTest>> tests;
    if (baseline && name != f.baseline) tests = eval::compare_per_user(r, *baseline);
    const fs::path output = f.output.empty() ? default_output(config, f, name) : fs::path(f.output);
    ensure_directory(output.parent_path().empty() ? fs::path(".") : output.parent_path());
    eval::write_result_json(
        output, eval::result_to_json(r, meta, tests.empty() ? nullptr : &tests, f.baseline));
    fs::path per_user = output;
    per_user.replace_extension(".per_user.csv");
    eval::write_per_user_csv(per_user, r, split_data);
    spdlog::info("{} on {} ({} users, {:.1f} s): {}", name, f.task, r.users.size(), r.seconds_total,
                 output.string());
  }
  if (comm->is_root()) {
    if (baseline && std::find(names.begin(), names.end(), f.baseline) == names.end())
      results.push_back(*baseline);
    print_table(results, options.ks);
  }
}

}  // namespace

void register_evaluate(CLI::App& app) {
  auto f = std::make_shared<EvaluateFlags>();
  auto* cmd = app.add_subcommand(
      "evaluate",
      "Evaluate the trained model and/or baselines on the test (or val) part: tasks sampled "
      "(positives + sampled negatives), full (the whole catalogue) and cold_item (items unseen in "
      "training). Writes <results_dir>/[<run>/]eval/<recommender>_<task>.json and a per-user CSV "
      "beside it, and prints a comparison table");
  add_common_options(*cmd, f->common);
  cmd->add_option(
      "--recommender", f->recommenders,
      "multimodal | random | popularity | itemknn | userknn | contentknn | ease | ials, "
      "or a comma list of them");
  cmd->add_option("--task", f->task, "sampled | full | cold_item (retrieval = sampled)");
  cmd->add_option(flag_names("--run-name"), f->run_name,
                  "Trained run: uses <checkpoint_dir>/<run>/best.pt (else last.pt)");
  cmd->add_option("--checkpoint", f->checkpoint, "A checkpoint file instead of --run-name");
  cmd->add_option("--k", f->ks, "Cut-offs, e.g. 5,10,20 (default: evaluation.k_values)");
  cmd->add_option(flag_names("--num-negatives"), f->num_negatives,
                  "Sampled task: negatives per user (default: evaluation.num_negatives)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--device", f->device,
                  "cpu | cuda: where the model scores (GPU local_rank % GPUs; collectives stay "
                  "on the CPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--part", f->part, "test | val")->check(CLI::IsMember({"test", "val"}));
  cmd->add_option("--baseline", f->baseline,
                  "Also evaluate this baseline and add paired t-test and Wilcoxon p-values per "
                  "metric to each result file");
  cmd->add_option("-o,--output", f->output, "Result JSON path (single recommender)");
  cmd->add_option(flag_names("--save-predictions"), f->predictions,
                  "Write user_id,rank,item_id,score (top max K per user)");
  cmd->callback([f] { run_evaluate(*f); });
}

}  // namespace pixelrec::app
