// make_baseline: validates the inputs once and builds the named baseline.
#include "core/errors.h"
#include "core/strings.h"
#include "eval/baselines.h"

namespace pixelrec::eval {

namespace {

void check_knn_settings(const BaselineInputs& inputs) {
  if (inputs.knn_neighbors < 1)
    throw ConfigError("evaluation.knn_neighbors is " + std::to_string(inputs.knn_neighbors) +
                      "; KNN baselines keep that many neighbours per row, so it must be >= 1 "
                      "(default 50)");
  if (!(inputs.knn_shrinkage >= 0.0))
    throw ConfigError("evaluation.knn_shrinkage is " + std::to_string(inputs.knn_shrinkage) +
                      "; it is added to the cosine denominator, so it must be >= 0 (default 10)");
}

const UserItemIndex& require_train(const BaselineInputs& inputs) {
  PIXELREC_CHECK(inputs.train != nullptr, "BaselineInputs.train is required by this baseline");
  return *inputs.train;
}

const ContentVectors& require_content(const BaselineInputs& inputs) {
  if (inputs.content == nullptr)
    throw Error(
        "the contentknn baseline needs item content vectors from the feature store; run "
        "`pixelrec cache` with an image or text extractor enabled");
  const uint32_t items = inputs.split->num_items();
  if (inputs.content->num_items != items)
    throw Error("the feature store holds " + std::to_string(inputs.content->num_items) +
                " items but the split's item_map.csv has " + std::to_string(items) +
                "; the store is out of date: run `pixelrec cache --force-recompute`");
  return *inputs.content;
}

}  // namespace

std::vector<std::string> baseline_names() {
  return {"random", "popularity", "itemknn", "userknn", "contentknn", "ease", "ials"};
}

BaselineInputs baseline_inputs(const EvaluationConfig& evaluation, const SplitData& split,
                               const UserItemIndex& train, const ContentVectors* content,
                               int threads) {
  BaselineInputs inputs;
  inputs.split = &split;
  inputs.train = &train;
  inputs.content = content;
  inputs.seed = uint64_t(evaluation.seed);
  inputs.threads = threads;
  inputs.knn_neighbors = evaluation.knn_neighbors;
  inputs.knn_shrinkage = evaluation.knn_shrinkage;
  inputs.ease_lambda = evaluation.ease_lambda;
  inputs.ease_max_items = uint32_t(evaluation.ease_max_items);
  inputs.ials = {evaluation.ials_factors, evaluation.ials_iterations,
                 evaluation.ials_regularization, evaluation.ials_alpha};
  return inputs;
}

std::unique_ptr<Scorer> make_baseline(const std::string& name, const BaselineInputs& inputs) {
  PIXELREC_CHECK(inputs.split != nullptr, "BaselineInputs.split is required");
  const SplitData& split = *inputs.split;
  if (name == "random") return std::make_unique<RandomScorer>(inputs.seed, inputs.threads);
  if (name == "popularity") return std::make_unique<PopularityScorer>(split);
  if (name == "itemknn") {
    check_knn_settings(inputs);
    return std::make_unique<ItemKnnScorer>(require_train(inputs), split.num_items(),
                                           inputs.knn_neighbors, inputs.knn_shrinkage,
                                           inputs.threads);
  }
  if (name == "userknn") {
    check_knn_settings(inputs);
    return std::make_unique<UserKnnScorer>(require_train(inputs), split.num_items(),
                                           inputs.knn_neighbors, inputs.knn_shrinkage,
                                           inputs.threads);
  }
  if (name == "ease")
    return std::make_unique<EaseScorer>(require_train(inputs), split.num_items(),
                                        inputs.ease_lambda, inputs.ease_max_items, inputs.threads);
  if (name == "ials")
    return std::make_unique<IalsScorer>(require_train(inputs), split.num_items(), inputs.ials,
                                        inputs.seed, inputs.threads);
  if (name == "contentknn")
    return std::make_unique<ContentKnnScorer>(require_train(inputs), require_content(inputs),
                                              inputs.threads);
  std::string hint;
  if (const auto close = closest_match(name, baseline_names()))
    hint = " (did you mean '" + *close + "'?)";
  throw UsageError("unknown baseline '" + name + "'" + hint +
                   "; choose one of: " + join(baseline_names(), ", "));
}

}  // namespace pixelrec::eval
