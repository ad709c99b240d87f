// `pixelrec recommend`: top-K lists for given, listed or sampled users from the trained model
// (or a baseline), with seen-item filtering, optional MMR diversity and a popularity fallback.
#include <spdlog/spdlog.h>

#include "app/cli_common.h"
#include "app/torch/torch_commands.h"
#include "core/errors.h"
#include "core/files.h"
#include "eval/baselines.h"
#include "eval/content_vectors.h"
#include "features/feature_store.h"
#include "infer/recommendation_io.h"
#include "infer/top_k_lists.h"
#include "model/device.h"
#include "model/trained_model.h"
#include "train/loop/trainer.h"

namespace pixelrec::app {
namespace fs = std::filesystem;
namespace {

struct RecommendFlags {
  CommonOptions common;
  std::vector<std::string> users;
  std::string user_file, output, run_name, checkpoint, recommender = "multimodal";
  std::string rerank_checkpoint;
  int retrieve = 100;
  int sample_users = 0;
  int top_k = 0;
  bool use_diversity = false;
  bool include_seen = false;
  std::string device = "cpu";
};

void run_recommend(const RecommendFlags& f) {
  const LoadedConfig loaded = load_config_from(f.common);
  const Config& config = loaded.config;
  const int threads = model::training_threads(config, 1);
  model::set_compute_threads(threads);
  const int sources = int(!f.users.empty()) + int(!f.user_file.empty()) + int(f.sample_users > 0);
  if (sources != 1)
    throw UsageError("give exactly one of --users ID..., --user-file FILE or --sample-users N");

  const SplitData split = load_split_data(config);
  std::vector<std::string> user_ids = f.users;
  if (!f.user_file.empty()) user_ids = infer::read_user_file(f.user_file);
  if (f.sample_users > 0)
    user_ids = infer::sample_users(split, size_t(f.sample_users), uint64_t(config.evaluation.seed));

  std::unique_ptr<eval::ContentVectors> content;
  if (f.use_diversity || f.recommender == "contentknn")
    content = std::make_unique<eval::ContentVectors>(
        eval::load_content_vectors(config.feature_store_path(), threads));
  const UserItemIndex train(split.num_users(), split.train);
  const UserItemIndex seen(split.num_users(), {&split.train, &split.val, &split.test});
  const eval::BaselineInputs inputs =
      eval::baseline_inputs(config.evaluation, split, train, content.get(), threads);
  auto fallback = eval::make_baseline("popularity", inputs);

  std::unique_ptr<model::TrainedModel> trained;
  std::unique_ptr<eval::Scorer> baseline;
  eval::Scorer* scorer = nullptr;
  if (f.recommender == "multimodal") {
    trained = model::load_trained_model(
        config, split, model::checkpoint_for(config, f.run_name, f.checkpoint),
        /*final_activation=*/true, 0, 1, model::compute_device(f.device, 0));
    scorer = trained->scorer.get();
  } else {
    baseline = eval::make_baseline(f.recommender, inputs);
    scorer = baseline.get();
  }

  // Retrieval by the model (a dot checkpoint: one matrix product), re-ranking by an MLP head.
  std::unique_ptr<model::TrainedModel> reranker;
  if (!f.rerank_checkpoint.empty()) {
    Config mlp = config;
    mlp.model.scorer = "mlp";
    reranker = model::load_trained_model(mlp, split, f.rerank_checkpoint,
                                         /*final_activation=*/true, 0, 1,
                                         model::compute_device(f.device, 0));
    spdlog::info("re-ranking the top {} by {}", f.retrieve, f.rerank_checkpoint);
  }

  infer::RecommendOptions options;
  options.retrieve = f.retrieve;
  const RecommendationConfig& rc = config.recommendation;
  options.top_k = f.top_k > 0 ? f.top_k : rc.top_k;
  options.filter_seen = rc.filter_seen && !f.include_seen;
  options.use_diversity = f.use_diversity;
  options.diversity_weight = rc.diversity_weight;
  options.novelty_weight = rc.novelty_weight;
  options.max_candidates = rc.max_candidates;
  options.threads = threads;
  const auto titles = infer::load_item_titles(config.data.processed_item_info_path, split.item_map);
  const auto recs =
      infer::recommend(*scorer, *fallback, split, seen, content.get(), titles, user_ids, options,
                       reranker ? reranker->scorer.get() : nullptr);
  fs::path output = f.output;
  if (output.empty())
    output = fs::path(config.results_dir) / (f.run_name.empty() ? "recommendations" : f.run_name) /
             "recommendations.json";
  if (output.has_parent_path()) ensure_directory(output.parent_path());
  infer::write_recommendations(output, recs);
  size_t fallbacks = 0;
  for (const auto& r : recs) fallbacks += r.source != "model";
  spdlog::info("{} users, top {}{}: {} ({} by the fallback)", recs.size(), options.top_k,
               options.use_diversity ? " with MMR diversity" : "", output.string(), fallbacks);
}

}  // namespace

void register_recommend(CLI::App& app) {
  auto f = std::make_shared<RecommendFlags>();
  auto* cmd = app.add_subcommand(
      "recommend",
      "Top-K recommendations per user from a trained run (or a baseline). Known items are "
      "filtered (recommendation.filter_seen); users without training history get popularity. "
      "Output: JSON, or CSV when the file ends in .csv (user_id,rank,item_id,title,score,source)");
  add_common_options(*cmd, f->common);
  cmd->add_option("--users", f->users, "User ids")->expected(1, -1);
  cmd->add_option(flag_names("--user-file"), f->user_file,
                  "File with one user id per line (or a CSV with a user_id column)")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag_names("--sample-users"), f->sample_users,
                  "N training users drawn with evaluation.seed")
      ->check(CLI::PositiveNumber);
  cmd->add_option(flag_names("--top-k"), f->top_k, "List length (default: recommendation.top_k)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag(flag_names("--use-diversity"), f->use_diversity,
                "MMR re-ranking of the top recommendation.max_candidates with "
                "recommendation.diversity_weight and recommendation.novelty_weight");
  cmd->add_flag(flag_names("--include-seen"), f->include_seen,
                "Keep items the user already interacted with");
  cmd->add_option(flag_names("--run-name"), f->run_name, "Trained run (best.pt, else last.pt)");
  cmd->add_option("--checkpoint", f->checkpoint, "A checkpoint file instead of --run-name");
  cmd->add_option(flag_names("--rerank-checkpoint"), f->rerank_checkpoint,
                  "An MLP-head (model.scorer mlp) checkpoint that re-orders the model's top "
                  "--retrieve items (retrieve with a dot checkpoint, re-rank with an MLP)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--retrieve", f->retrieve,
                  "With --rerank-checkpoint: items retrieved per user for re-ranking (>= top-k)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--device", f->device, "cpu | cuda: where the model scores")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--recommender", f->recommender,
                  "multimodal (default) or a baseline: random, popularity, itemknn, userknn, "
                  "contentknn, ease, ials");
  cmd->add_option("-o,--output", f->output,
                  "Output file (default <results_dir>/<run>/recommendations.json)");
  cmd->callback([f] { run_recommend(*f); });
}

}  // namespace pixelrec::app
