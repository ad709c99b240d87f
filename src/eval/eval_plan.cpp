// Which users are evaluated, their relevant items and candidate counts, and the K check.
#include <algorithm>
#include <string>

#include "core/errors.h"
#include "eval/eval_internal.h"

namespace pixelrec::eval::internal {

namespace {

void validate_options(const EvalOptions& options) {
  if (options.ks.empty())
    throw UsageError("no K values given; pass at least one with --k (e.g. --k 5,10,20)");
  for (int k : options.ks)
    if (k <= 0)
      throw UsageError("K=" + std::to_string(k) +
                       " is not a positive list length; use --k with "
                       "values >= 1");
  std::vector<int> sorted = options.ks;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    throw UsageError("K values repeat in --k; give each K once");
  if (options.task == EvalTask::kSampled && options.num_negatives < 1)
    throw UsageError("--num-negatives is " + std::to_string(options.num_negatives) +
                     ": the sampled task needs at least 1 negative per user; raise it (e.g. 100)");
  if (options.threads < 1)
    throw UsageError("--threads is " + std::to_string(options.threads) + "; use 1 or more");
  if (options.user_batch == 0) throw UsageError("the user batch is 0; use 1 or more users");
}

// "training" or "training or validation": what the plan masks, for messages.
std::string masked_description(const EvalPlan& plan) {
  return plan.masked_parts.size() == 1 ? "training" : "training or validation";
}

// The user with the fewest candidates, for the K check's message.
std::string describe_smallest(const EvalPlan& plan, size_t i, const EvalContext& context) {
  const uint32_t count = plan.candidate_counts[i];
  const SplitData& split = *context.split;
  switch (plan.task) {
    case EvalTask::kSampled: {
      const size_t positives = plan.num_relevant(i);
      return std::to_string(count) + " candidates of the sampled task (" +
             std::to_string(positives) + (positives == 1 ? " positive + " : " positives + ") +
             std::to_string(count - positives) + " negatives); lower --k or raise --num-negatives";
    }
    case EvalTask::kFull:
      return std::to_string(count) + " candidates of the full task (user '" +
             split.user_id(plan.users[i]) + "' has " + std::to_string(split.num_items() - count) +
             " of the " + std::to_string(split.num_items()) + " catalogue items in " +
             masked_description(plan) + "); lower --k";
    case EvalTask::kColdItem: {
      const size_t cold = plan.catalogue.size();
      return std::to_string(count) + " candidates of the cold_item task (" + std::to_string(cold) +
             " cold items" +
             (count == cold
                  ? std::string()
                  : ", " + std::to_string(cold - count) + " of them in user '" +
                        split.user_id(plan.users[i]) + "''s " + masked_description(plan)) +
             "); lower --k";
    }
  }
  return {};
}

void check_ks_fit(const EvalPlan& plan, const EvalContext& context) {
  const auto smallest =
      std::min_element(plan.candidate_counts.begin(), plan.candidate_counts.end());
  const int max_k = plan.ks.back();
  if (uint64_t(max_k) <= *smallest) return;
  throw UsageError(
      "K=" + std::to_string(max_k) + " exceeds the " +
      describe_smallest(plan, size_t(smallest - plan.candidate_counts.begin()), context));
}

}  // namespace

EvalPlan make_eval_plan(const EvalContext& context, const EvalOptions& options,
                        const IndexedInteractions& part, const std::string& part_name) {
  validate_options(options);
  const SplitData& split = *context.split;
  const uint32_t num_users = split.num_users(), num_items = split.num_items();
  PIXELREC_CHECK(context.train.num_users() == num_users &&
                     context.train_val.num_users() == num_users &&
                     context.known.num_users() == num_users,
                 "EvalContext was not built by make_eval_context for this split");
  EvalPlan plan;
  plan.task = options.task;
  // Masking: what the user is known for before the evaluated part (docs/evaluation.md).
  const bool on_test = part_name == "test";
  plan.masked = on_test ? &context.train_val : &context.train;
  plan.known = on_test ? &context.known : &context.train_val;
  plan.masked_parts =
      on_test ? std::vector<std::string>{"train", "val"} : std::vector<std::string>{"train"};
  plan.known_parts = on_test ? std::vector<std::string>{"train", "val", "test"}
                             : std::vector<std::string>{"train", "val"};
  const UserItemIndex& masked = *plan.masked;
  plan.ks = options.ks;
  std::sort(plan.ks.begin(), plan.ks.end());
  for (uint32_t item = 0; item < num_items; ++item)
    if (options.task != EvalTask::kColdItem || split.is_cold_item(item))
      plan.catalogue.push_back(item);
  if (plan.catalogue.empty())
    throw Error(options.task == EvalTask::kColdItem
                    ? "the cold_item task needs items absent from training, but every item of " +
                          split.directory.string() +
                          " is in training; make a cold-item split (split.strategy: item) or "
                          "use the full task"
                    : "the split " + split.directory.string() +
                          " has no items; re-run `pixelrec split`");

  size_t skipped_masked = 0, skipped_not_cold = 0, skipped_no_negatives = 0;
  const UserItemIndex part_items(num_users, part);
  plan.relevant_offsets.push_back(0);
  for (uint32_t user = 0; user < num_users; ++user) {
    if (part_items.count(user) == 0) continue;
    const size_t before = plan.relevant.size();
    bool had_unseen = false;
    for (const uint32_t* it = part_items.begin(user); it != part_items.end(user); ++it) {
      if (masked.contains(user, *it)) continue;
      had_unseen = true;
      if (options.task == EvalTask::kColdItem && !split.is_cold_item(*it)) continue;
      plan.relevant.push_back(*it);
    }
    const size_t num_relevant = plan.relevant.size() - before;
    if (num_relevant == 0) {
      ++(had_unseen ? skipped_not_cold : skipped_masked);
      continue;
    }
    uint64_t candidates = 0;
    if (options.task == EvalTask::kSampled) {
      const uint64_t unknown = num_items - plan.known->count(user);
      if (unknown == 0) {
        plan.relevant.resize(before);
        ++skipped_no_negatives;
        continue;
      }
      candidates = num_relevant + std::min<uint64_t>(unknown, uint64_t(options.num_negatives));
    } else if (options.task == EvalTask::kFull) {
      candidates = num_items - masked.count(user);
    } else {
      candidates = plan.catalogue.size();
      for (const uint32_t* it = masked.begin(user); it != masked.end(user); ++it)
        candidates -= split.is_cold_item(*it);
    }
    plan.users.push_back(user);
    plan.relevant_offsets.push_back(plan.relevant.size());
    plan.candidate_counts.push_back(uint32_t(candidates));
  }

  const auto add_skipped = [&](size_t count, const std::string& reason) {
    if (count > 0) plan.skipped.emplace_back(reason, count);
  };
  add_skipped(skipped_masked,
              "every " + part_name + " item is already in the user's " + masked_description(plan));
  add_skipped(skipped_not_cold, "no cold item among the user's " + part_name + " items");
  add_skipped(skipped_no_negatives, "every catalogue item is known for the user (no negatives)");

  if (plan.users.empty()) {
    std::string why;
    for (const auto& [reason, count] : plan.skipped)
      why += "; " + std::to_string(count) + " skipped: " + reason;
    throw Error("no user of the " + part_name + " part of " + split.directory.string() +
                " can be evaluated by the " + std::string(eval_task_name(options.task)) +
                " task (" + std::to_string(part.size()) + " interactions" + why +
                "); check the split or choose another task");
  }
  check_ks_fit(plan, context);
  return plan;
}

}  // namespace pixelrec::eval::internal
