#include "app/torch/hpo_baseline_trial.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

#include "core/files.h"
#include "data/split_data.h"
#include "eval/baselines.h"
#include "eval/content_vectors.h"
#include "eval/eval_result.h"
#include "features/numeric_training.h"
#include "model/checkpoint_sidecar.h"
#include "model/device.h"
#include "model/validation.h"

namespace pixelrec::app {
namespace fs = std::filesystem;

namespace {

struct TargetResult {
  eval::EvalResult result;
  std::string split_directory;
};

// The best trial's test: the full catalogue, like `pixelrec evaluate --task full`.
eval::EvalOptions test_options(const Config& config) {
  eval::EvalOptions options = model::validation_options(config, 1);
  options.task = eval::EvalTask::kFull;
  return options;
}

// `options.threads` is replaced by the threads of this run.
TargetResult evaluate_target(const Config& config, dist::Communicator& comm,
                             eval::EvalOptions options, const std::string& part,
                             bool with_content) {
  const int threads = model::training_threads(config, comm.size());
  const SplitData split = load_split_data(config);
  const auto content = with_content
                           ? eval::load_content_vectors_if_any(config.feature_store_path(), threads)
                           : nullptr;
  const eval::EvalContext context = eval::make_eval_context(split, content.get());
  const eval::BaselineInputs inputs =
      eval::baseline_inputs(config.evaluation, split, context.train, content.get(), threads);
  const auto scorer = eval::make_baseline(config.hyperparameter_search.target, inputs);
  options.threads = threads;
  return {eval::evaluate(*scorer, context, options, comm, part), split.directory.string()};
}

nlohmann::ordered_json baseline_result_json(const Config& config, const TargetResult& target) {
  eval::ResultMeta meta;
  meta.config_fingerprint = model::config_fingerprint(config);
  meta.split = target.split_directory;
  meta.seed = uint64_t(config.evaluation.seed);
  meta.numeric_source = features::describe_numeric_source(config.data.numeric_source, false);
  return eval::result_to_json(target.result, meta, nullptr, "");
}

}  // namespace

std::vector<std::pair<std::string, double>> validate_baseline(const Config& config,
                                                              const std::string& run_name,
                                                              dist::Communicator& comm) {
  // Like the model's Validator: no content vectors, so no diversity@K among the metrics.
  const TargetResult target = evaluate_target(config, comm, model::validation_options(config, 1),
                                              "val", /*with_content=*/false);
  if (comm.is_root()) {
    const fs::path dir = fs::path(config.results_dir) / run_name / "eval";
    ensure_directory(dir);
    eval::write_result_json(dir / (config.hyperparameter_search.target + "_" +
                                   config.training.validation_task + "_val.json"),
                            baseline_result_json(config, target));
  }
  std::vector<std::pair<std::string, double>> metrics;
  for (const auto& [name, value] : target.result.metrics)
    metrics.emplace_back("val_" + name, value);
  return metrics;
}

nlohmann::ordered_json test_baseline(const Config& config, dist::Communicator& comm) {
  return baseline_result_json(
      config, evaluate_target(config, comm, test_options(config), "test", /*with_content=*/true));
}

}  // namespace pixelrec::app
