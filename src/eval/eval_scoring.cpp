// Scoring and ranking one rank's share of users: score_block over user batches × the task's
// catalogue (full, cold_item) or score_pairs over each batch's sampled candidates (sampled).
#include <chrono>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/parallel.h"
#include "core/stopwatch.h"
#include "eval/eval_internal.h"

namespace pixelrec::eval::internal {

namespace {

using Clock = std::chrono::steady_clock;

void check_no_nan(const float* scores, const uint32_t* items, size_t n, uint32_t user,
                  const Scorer& scorer, const SplitData& split, EvalTask task) {
  for (size_t j = 0; j < n; ++j)
    if (std::isnan(scores[j]))
      throw nan_score_error(scorer, split, task, user, items != nullptr ? items[j] : uint32_t(j));
}

// Shared state of one range: output rows and per-worker scratch.
struct RangeJob {
  Scorer& scorer;
  const EvalContext& context;
  const EvalOptions& options;
  const EvalPlan& plan;
  const AccuracyCalculator& accuracy;
  size_t begin, end;
  LocalOutcome& out;
  std::vector<std::vector<ScoredItem>> scratch;

  // Ranks plan row p from its scores and writes its top list and accuracy values.
  void finish_user(size_t p, const float* scores, const uint32_t* items, size_t n,
                   const uint32_t* excluded_begin, const uint32_t* excluded_end,
                   const RankOrder& order, const ScoredItem& best, size_t worker) {
    const size_t row = p - begin, width = size_t(accuracy.max_k());
    uint32_t* top = out.top_items.data() + row * width;
    const size_t ahead =
        rank_candidates(scores, items, n, excluded_begin, excluded_end, order, best, width,
                        scratch[worker], top, out.top_scores.data() + row * width);
    accuracy.compute(top, plan.relevant_of(p), plan.num_relevant(p), ahead,
                     out.per_user.data() + row * accuracy.num_values());
  }

  void run_dense() {
    const SplitData& split = *context.split;
    const bool full = plan.task == EvalTask::kFull;
    const std::vector<uint32_t>& items = plan.catalogue;
    const size_t columns = items.size(), batch = std::min(options.user_batch, end - begin);
    std::vector<uint32_t> column_of;  // cold_item: item → column of the score block
    if (!full) {
      column_of.assign(split.num_items(), std::numeric_limits<uint32_t>::max());
      for (size_t j = 0; j < columns; ++j) column_of[items[j]] = uint32_t(j);
    }
    std::vector<uint32_t> batch_users(batch);
    std::vector<float> block(batch * columns);
    for (size_t first = begin; first < end; first += batch) {
      const size_t count = std::min(batch, end - first);
      for (size_t i = 0; i < count; ++i) batch_users[i] = plan.users[first + i];
      const auto start = Clock::now();
      scorer.score_block(batch_users.data(), count, items.data(), columns, block.data());
      out.seconds_scoring += seconds_since(start);
      out.pairs_scored += double(count) * double(columns);
      parallel_for(count, options.threads, [&](size_t i, size_t worker) {
        const size_t p = first + i;
        const uint32_t user = plan.users[p];
        const float* row = block.data() + i * columns;
        check_no_nan(row, items.data(), columns, user, scorer, split, plan.task);
        const uint32_t* relevant = plan.relevant_of(p);
        const RankOrder order(options.seed, user);
        ScoredItem best{-std::numeric_limits<float>::infinity(), kNoItem};
        for (size_t r = 0; r < plan.num_relevant(p); ++r) {
          const uint32_t column = full ? relevant[r] : column_of[relevant[r]];
          best = order.better(best, ScoredItem{row[column], relevant[r]});
        }
        finish_user(p, row, full ? nullptr : items.data(), columns, plan.masked->begin(user),
                    plan.masked->end(user), order, best, worker);
      });
    }
  }

  void run_sampled() {
    const SplitData& split = *context.split;
    const size_t batch = std::min(options.user_batch, end - begin);
    const size_t workers = size_t(options.threads);
    std::vector<std::vector<uint8_t>> marks(workers, std::vector<uint8_t>(split.num_items(), 0));
    std::vector<uint64_t> offsets(batch + 1);
    std::vector<uint32_t> pair_users, pair_items;
    std::vector<float> scores;
    for (size_t first = begin; first < end; first += batch) {
      const size_t count = std::min(batch, end - first);
      offsets[0] = 0;
      for (size_t i = 0; i < count; ++i)
        offsets[i + 1] = offsets[i] + plan.candidate_counts[first + i];
      const size_t pairs = offsets[count];
      if (pair_items.size() < pairs) {
        pair_users.resize(pairs);
        pair_items.resize(pairs);
        scores.resize(pairs);
      }
      // Candidates: the relevant items first, then the sampled negatives.
      parallel_for(count, options.threads, [&](size_t i, size_t worker) {
        const size_t p = first + i, num_relevant = plan.num_relevant(p);
        const uint32_t user = plan.users[p];
        uint32_t* items = pair_items.data() + offsets[i];
        std::fill(pair_users.data() + offsets[i], pair_users.data() + offsets[i + 1], user);
        std::copy(plan.relevant_of(p), plan.relevant_of(p) + num_relevant, items);
        const size_t wanted = plan.candidate_counts[p] - num_relevant;
        const size_t drawn =
            sample_negatives(user, wanted, options.seed, *plan.known, split.num_items(),
                             marks[worker], items + num_relevant);
        PIXELREC_CHECK(drawn == wanted, "negative count differs from the plan");
      });
      const auto start = Clock::now();
      scorer.score_pairs(pair_users.data(), pair_items.data(), pairs, scores.data());
      out.seconds_scoring += seconds_since(start);
      out.pairs_scored += double(pairs);
      parallel_for(count, options.threads, [&](size_t i, size_t worker) {
        const size_t p = first + i;
        const float* row = scores.data() + offsets[i];
        const uint32_t* items = pair_items.data() + offsets[i];
        const size_t n = plan.candidate_counts[p];
        check_no_nan(row, items, n, plan.users[p], scorer, split, plan.task);
        const RankOrder order(options.seed, plan.users[p]);
        ScoredItem best{row[0], items[0]};
        for (size_t r = 1; r < plan.num_relevant(p); ++r)
          best = order.better(best, ScoredItem{row[r], items[r]});
        finish_user(p, row, items, n, nullptr, nullptr, order, best, worker);
      });
    }
  }
};

}  // namespace

// NaN breaks any ranking: name the recommender, user and item so the cause can be found.
Error nan_score_error(const Scorer& scorer, const SplitData& split, EvalTask task, uint32_t user,
                      uint32_t item) {
  return Error("recommender '" + scorer.name() + "' returned NaN for user '" + split.user_id(user) +
               "' and item '" + split.item_map.id(item) + "' (" +
               std::string(eval_task_name(task)) +
               " task); its scores cannot be ranked: fix the recommender (a diverged model "
               "needs retraining, e.g. with a lower learning rate)");
}

LocalOutcome score_user_range(Scorer& scorer, const EvalContext& context,
                              const EvalOptions& options, const EvalPlan& plan,
                              const AccuracyCalculator& accuracy, size_t begin, size_t end) {
  LocalOutcome out;
  const size_t rows = end - begin, width = size_t(accuracy.max_k());
  out.per_user.resize(rows * accuracy.num_values());
  out.top_items.resize(rows * width);
  out.top_scores.resize(rows * width);
  if (rows == 0) return out;
  RangeJob job{scorer, context,  options,
               plan,   accuracy, begin,
               end,    out,      std::vector<std::vector<ScoredItem>>(size_t(options.threads))};
  if (plan.task == EvalTask::kSampled)
    job.run_sampled();
  else
    job.run_dense();
  return out;
}

}  // namespace pixelrec::eval::internal
