#include "eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/errors.h"
#include "eval/beyond_accuracy.h"
#include "eval/eval_internal.h"

namespace pixelrec::eval {

using internal::EvalPlan;

namespace {

std::string k_name(const char* metric, int k) {
  return std::string(metric) + "@" + std::to_string(k);
}

// Means of the per-user accuracy values (summed in user order), then the beyond-accuracy
// metrics of the gathered top lists; identical on every rank.
void summarize(const EvalPlan& plan, const EvalContext& context, const EvalOptions& options,
               const std::vector<uint32_t>& top_items, EvalResult& result) {
  const size_t num_users = result.users.size(), num_values = result.per_user_names.size();
  for (size_t m = 0; m < num_values; ++m) {
    double sum = 0;
    for (size_t u = 0; u < num_users; ++u) sum += result.per_user[u * num_values + m];
    result.metrics.emplace_back(result.per_user_names[m], sum / double(num_users));
  }
  const TopLists lists{top_items.data(), num_users, size_t(plan.ks.back())};
  const uint32_t num_items = context.split->num_items();
  std::vector<std::vector<int64_t>> exposure;
  for (int k : plan.ks) exposure.push_back(exposure_counts(lists, k, num_items));
  for (size_t i = 0; i < plan.ks.size(); ++i)
    result.metrics.emplace_back(k_name("coverage", plan.ks[i]),
                                catalogue_coverage(exposure[i], plan.catalogue));
  for (int k : plan.ks)
    result.metrics.emplace_back(k_name("novelty", k), novelty(lists, k, context.train_counts));
  if (context.content == nullptr)
    result.notes.push_back(
        "diversity@K omitted: no item content vectors were given (build the "
        "feature store with `pixelrec cache`)");
  for (int k : plan.ks) {
    if (context.content == nullptr) break;
    if (k < 2) {
      result.notes.push_back(k_name("diversity", k) + " omitted: a list of one item has no pairs");
      continue;
    }
    result.metrics.emplace_back(k_name("diversity", k),
                                intra_list_diversity(lists, k, *context.content, options.threads));
  }
  for (size_t i = 0; i < plan.ks.size(); ++i)
    result.metrics.emplace_back(k_name("gini", plan.ks[i]),
                                exposure_gini(exposure[i], plan.catalogue));
  if (num_users < 2)
    result.notes.push_back(
        "personalization@K omitted: it compares users' lists and only one "
        "user was evaluated");
  for (size_t i = 0; i < plan.ks.size() && num_users >= 2; ++i)
    result.metrics.emplace_back(k_name("personalization", plan.ks[i]),
                                personalization(exposure[i], num_users, plan.ks[i]));
}

const IndexedInteractions& select_part(const SplitData& split, const std::string& part) {
  if (part == "test") return split.test;
  if (part == "val") return split.val;
  throw UsageError("cannot evaluate on part '" + part + "'; use test or val");
}

}  // namespace

EvalTask parse_eval_task(std::string_view name) {
  if (name == "sampled" || name == "retrieval") return EvalTask::kSampled;
  if (name == "full") return EvalTask::kFull;
  if (name == "cold_item") return EvalTask::kColdItem;
  if (name == "ranking")
    throw UsageError(
        "the 'ranking' task ranks only each user's positives, so every list is "
        "perfect and MRR = NDCG = 1 whatever the model; use sampled (positives + "
        "sampled negatives) or full (every item the user has not trained on)");
  throw UsageError("unknown evaluation task '" + std::string(name) +
                   "'; use sampled (alias retrieval), full or cold_item");
}

std::string_view eval_task_name(EvalTask task) {
  switch (task) {
    case EvalTask::kSampled:
      return "sampled";
    case EvalTask::kFull:
      return "full";
    case EvalTask::kColdItem:
      return "cold_item";
  }
  return "unknown";
}

EvalContext make_eval_context(const SplitData& split, const ContentVectors* content) {
  if (content != nullptr && content->num_items != split.num_items())
    throw Error("the item content vectors cover " + std::to_string(content->num_items) +
                " items but the split " + split.directory.string() + " has " +
                std::to_string(split.num_items()) +
                "; the feature store is out of date: re-run `pixelrec cache`");
  EvalContext context;
  context.split = &split;
  context.content = content;
  context.train = UserItemIndex(split.num_users(), split.train);
  context.train_val = UserItemIndex(split.num_users(), {&split.train, &split.val});
  context.known = UserItemIndex(split.num_users(), {&split.train, &split.val, &split.test});
  context.train_counts = split.train_item_counts();
  return context;
}

double EvalResult::metric(std::string_view name) const {
  for (const auto& [metric_name, value] : metrics)
    if (metric_name == name) return value;
  std::string present;
  for (const auto& entry : metrics) present += (present.empty() ? "" : ", ") + entry.first;
  throw Error("metric '" + std::string(name) + "' is not in the result of " + recommender +
              " (present: " + present + ")");
}

std::vector<std::string> metric_names(const std::vector<int>& ks, bool has_content,
                                      size_t num_users) {
  std::vector<std::string> names = AccuracyCalculator(ks).names();
  for (const char* metric : {"coverage", "novelty"})
    for (int k : ks) names.push_back(k_name(metric, k));
  for (int k : ks)
    if (has_content && k >= 2) names.push_back(k_name("diversity", k));
  for (int k : ks) names.push_back(k_name("gini", k));
  for (int k : ks)
    if (num_users >= 2) names.push_back(k_name("personalization", k));
  return names;
}

EvalResult evaluate(Scorer& scorer, const EvalContext& context, const EvalOptions& options,
                    dist::Communicator& comm, const std::string& part) {
  const auto start = std::chrono::steady_clock::now();
  PIXELREC_CHECK(context.split != nullptr, "EvalContext without a split");
  const EvalPlan plan =
      internal::make_eval_plan(context, options, select_part(*context.split, part), part);
  const AccuracyCalculator accuracy(plan.ks);
  const std::optional<ItemShard> shard =
      internal::agree_item_shards(comm, scorer, context.split->num_items());
  const auto [begin, end] = internal::rank_share(plan.users.size(), comm.rank(), comm.size());
  internal::LocalOutcome local;
  std::exception_ptr failure;
  try {
    if (shard)
      local = internal::score_item_sharded({scorer, context, options, plan, accuracy, *shard, comm},
                                           failure);
    else
      local = internal::score_user_range(scorer, context, options, plan, accuracy, begin, end);
  } catch (...) {
    if (!failure) failure = std::current_exception();
  }
  internal::raise_if_any_rank_failed(comm, failure);

  EvalResult result;
  result.recommender = scorer.name();
  result.task = std::string(eval_task_name(plan.task));
  result.part = part;
  result.per_user_names = accuracy.names();
  result.users = plan.users;
  result.skipped = plan.skipped;
  result.masked_parts = plan.masked_parts;
  if (plan.task == EvalTask::kSampled) result.negatives_exclude_parts = plan.known_parts;
  result.tie_seed = options.seed;
  const size_t num_users = plan.users.size(), width = size_t(accuracy.max_k());
  result.per_user.resize(num_users * accuracy.num_values());
  internal::gather_rows(comm, local.per_user.data(), accuracy.num_values() * sizeof(double),
                        num_users, result.per_user.data());
  std::vector<uint32_t> top_items(num_users * width);
  internal::gather_rows(comm, local.top_items.data(), width * sizeof(uint32_t), num_users,
                        top_items.data());
  const auto [smallest, largest] =
      std::minmax_element(plan.candidate_counts.begin(), plan.candidate_counts.end());
  result.candidates_per_user_min = *smallest;
  result.candidates_per_user_max = *largest;
  summarize(plan, context, options, top_items, result);

  if (!options.predictions_path.empty()) {
    std::vector<float> top_scores(num_users * width);
    internal::gather_rows(comm, local.top_scores.data(), width * sizeof(float), num_users,
                          top_scores.data());
    std::exception_ptr write_failure;
    if (comm.is_root()) {
      try {
        internal::write_predictions(options.predictions_path, *context.split, plan.users, top_items,
                                    top_scores, width);
      } catch (...) {
        write_failure = std::current_exception();
      }
    }
    internal::raise_if_any_rank_failed(comm, write_failure);
  }
  result.seconds_scoring = internal::max_over_ranks(comm, local.seconds_scoring);
  result.pairs_scored = internal::sum_over_ranks(comm, local.pairs_scored);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.seconds_total = internal::max_over_ranks(comm, elapsed);
  return result;
}

}  // namespace pixelrec::eval
