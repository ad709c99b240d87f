// Internal steps of evaluate(): the per-task plan (who is evaluated against which candidates),
// negative sampling, ranking one user's scored candidates, scoring a range of users, the
// item-sharded walk, and the cross-rank exchange. Not part of the public API; exposed for
// evaluator.cpp and unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "distributed/communicator.h"
#include "eval/evaluator.h"
#include "eval/metrics.h"
#include "eval/tie_order.h"

namespace pixelrec::eval::internal {

struct EvalPlan {
  EvalTask task = EvalTask::kSampled;
  std::vector<int> ks;                                  // ascending, unique, positive
  std::vector<uint32_t> users;                          // evaluated users, ascending
  std::vector<uint64_t> relevant_offsets;               // CSR over users: users.size() + 1 entries
  std::vector<uint32_t> relevant;                       // each user's relevant items, ascending
  std::vector<uint32_t> candidate_counts;               // per evaluated user
  std::vector<uint32_t> catalogue;                      // the items the task ranks, ascending
  std::vector<std::pair<std::string, size_t>> skipped;  // reason → users
  // Masking (docs/evaluation.md): removed from each user's candidates (train, or train ∪ val
  // on test), and never drawn as a sampled negative (train ∪ val, or train ∪ val ∪ test on
  // test). Both point into the EvalContext.
  const UserItemIndex* masked = nullptr;
  const UserItemIndex* known = nullptr;
  std::vector<std::string> masked_parts, known_parts;  // their part names, for the result

  const uint32_t* relevant_of(size_t i) const { return relevant.data() + relevant_offsets[i]; }
  size_t num_relevant(size_t i) const { return relevant_offsets[i + 1] - relevant_offsets[i]; }
};

// Validates the options (UsageError), selects users and relevant items, counts candidates and
// checks every K against the smallest candidate list (UsageError naming the fix).
EvalPlan make_eval_plan(const EvalContext& context, const EvalOptions& options,
                        const IndexedInteractions& part, const std::string& part_name);

// Up to `count` distinct items, uniform over the catalogue minus the user's known items, from
// the stream (seed, user): the same items whatever the rank, thread or batch. `marks` is a
// per-worker scratch of num_items zeros (left zeroed). Returns the number written to `out`:
// min(count, items not known for the user).
size_t sample_negatives(uint32_t user, size_t count, uint64_t seed, const UserItemIndex& known,
                        uint32_t num_items, std::vector<uint8_t>& marks, uint32_t* out);

struct ScoredItem {
  float score;
  uint32_t item;
};

// The "no item" sentinel: list padding and "no relevant item in this shard".
constexpr uint32_t kNoItem = std::numeric_limits<uint32_t>::max();

// The tie rule of one user's ranking: higher score first; equal scores by the user's seeded tie
// key (eval/tie_order.h), the same on every rank and shard; kNoItem after every item of its
// score. A strict total order on distinct items.
class RankOrder {
 public:
  RankOrder(uint64_t seed, uint32_t user) : ties_(seed, user) {}
  bool operator()(const ScoredItem& a, const ScoredItem& b) const {
    if (a.score != b.score) return a.score > b.score;
    if (a.item == b.item) return false;
    if (a.item == kNoItem || b.item == kNoItem) return b.item == kNoItem;
    return ties_.key(a.item) < ties_.key(b.item);
  }
  const ScoredItem& better(const ScoredItem& a, const ScoredItem& b) const {
    return (*this)(b, a) ? b : a;
  }

 private:
  TieOrder ties_;
};

// Ranks one user's candidates by `order`: column j scores item items[j] (items == nullptr: item
// j), minus the sorted `excluded` items (the masked ones; a non-empty range needs ascending
// items). Writes the best top_k items and scores, best first, and returns how many candidates
// rank ahead of `best_relevant`.
size_t rank_candidates(const float* scores, const uint32_t* items, size_t n,
                       const uint32_t* excluded_begin, const uint32_t* excluded_end,
                       const RankOrder& order, const ScoredItem& best_relevant, size_t top_k,
                       std::vector<ScoredItem>& scratch, uint32_t* top_items, float* top_scores);

// What one rank computes for its users (rows in plan order).
struct LocalOutcome {
  std::vector<double> per_user;     // rows × accuracy values
  std::vector<uint32_t> top_items;  // rows × max K
  std::vector<float> top_scores;    // rows × max K
  double seconds_scoring = 0;
  double pairs_scored = 0;
};

// Scores and ranks plan.users[begin, end) in batches of options.user_batch users.
LocalOutcome score_user_range(Scorer& scorer, const EvalContext& context,
                              const EvalOptions& options, const EvalPlan& plan,
                              const AccuracyCalculator& accuracy, size_t begin, size_t end);

// The error for a NaN score of (user, item): names the recommender, user, item, task and fix.
Error nan_score_error(const Scorer& scorer, const SplitData& split, EvalTask task, uint32_t user,
                      uint32_t item);

// Collective (one allgather when comm.size() > 1): the item shard of this rank's scorer, checked
// to partition [0, num_items) in rank order; otherwise every rank throws the same Error naming
// each rank's range. nullopt when no rank's scorer reports a shard, and for one process whose
// shard covers the whole catalogue (the ordinary walk then applies).
std::optional<ItemShard> agree_item_shards(dist::Communicator& comm, const Scorer& scorer,
                                           uint32_t num_items);

// Everything one rank's item-sharded walk uses.
struct ShardedWalk {
  Scorer& scorer;
  const EvalContext& context;
  const EvalOptions& options;
  const EvalPlan& plan;
  const AccuracyCalculator& accuracy;
  ItemShard shard;  // this rank's items
  dist::Communicator& comm;
};

// Collective: every rank scores ALL evaluated users against the items of its shard, in the same
// batches of options.user_batch users, and the ranks exchange per batch what makes the result
// exact. Returns the rows of this rank's rank_share of the users, like score_user_range. A
// failure (scorer exception, NaN score) is kept in `failure` (the first one) and every rank
// leaves the batch loop together at the next exchange, so no collective is left unmatched.
LocalOutcome score_item_sharded(const ShardedWalk& walk, std::exception_ptr& failure);
// The task's walks behind score_item_sharded (full and cold_item; sampled); `out` is sized.
void score_item_sharded_dense(const ShardedWalk& walk, LocalOutcome& out,
                              std::exception_ptr& failure);
void score_item_sharded_sampled(const ShardedWalk& walk, LocalOutcome& out,
                                std::exception_ptr& failure);

// Runs `step` unless `failure` is set; an exception from it becomes `failure`.
template <class Step>
void run_unless_failed(std::exception_ptr& failure, Step&& step) {
  if (failure) return;
  try {
    step();
  } catch (...) {
    failure = std::current_exception();
  }
}

// Contiguous share of `count` rows for `rank` of `size`: [count*rank/size, count*(rank+1)/size).
std::pair<size_t, size_t> rank_share(size_t count, int rank, int size);

// Every rank's rows (row_bytes each; rank r holds rank_share(total, r, size) rows) gathered into
// `out` (total rows, in rank order) on every rank. Chunked to bound message sizes.
void gather_rows(dist::Communicator& comm, const void* local, size_t row_bytes, size_t total_rows,
                 void* out);

// Collective: when any rank failed, every rank throws (the failing rank rethrows its own
// exception; the others an Error quoting the first failing rank's message).
void raise_if_any_rank_failed(dist::Communicator& comm, const std::exception_ptr& failure);

double max_over_ranks(dist::Communicator& comm, double value);
double sum_over_ranks(dist::Communicator& comm, double value);

// Writes user_id,rank,item_id,score rows (rank 1-based, max K per user) atomically.
void write_predictions(const std::string& path, const SplitData& split,
                       const std::vector<uint32_t>& users, const std::vector<uint32_t>& top_items,
                       const std::vector<float>& top_scores, size_t width);

}  // namespace pixelrec::eval::internal
