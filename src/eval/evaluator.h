// Offline evaluation of any Scorer on a split: the sampled, full and cold-item ranking tasks,
// accuracy and beyond-accuracy metrics with per-user values, over 1..N ranks with results that
// do not depend on the rank count, thread count or batch size. Rules: docs/evaluation.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/split_data.h"
#include "distributed/communicator.h"
#include "eval/content_vectors.h"
#include "eval/scorer.h"

namespace pixelrec::eval {

enum class EvalTask { kSampled, kFull, kColdItem };

// "sampled" | "full" | "cold_item"; "retrieval" is an alias of sampled; "ranking" throws
// UsageError (ranking only the positives makes MRR = NDCG = 1); anything else: UsageError.
EvalTask parse_eval_task(std::string_view name);
std::string_view eval_task_name(EvalTask task);

struct EvalOptions {
  EvalTask task = EvalTask::kSampled;
  std::vector<int> ks = {5, 10, 20};  // any order; metrics are reported by ascending K
  int num_negatives = 100;            // sampled task
  uint64_t seed = 42;                 // sampled negatives and the tie order (eval/tie_order.h)
  int threads = 1;
  size_t user_batch = 256;       // users per scoring call (score_block / score_pairs)
  std::string predictions_path;  // non-empty: write user_id,rank,item_id,score (top max(K))
};

// What evaluation needs besides the scorer; built once, reused for several recommenders.
struct EvalContext {
  const SplitData* split = nullptr;
  const ContentVectors* content = nullptr;  // nullptr: diversity@K is omitted (and said so)
  UserItemIndex train;                      // users' training items (masked on val)
  UserItemIndex train_val;                  // train ∪ val (masked on test; known on val)
  UserItemIndex known;                      // train ∪ val ∪ test (known on test)
  std::vector<int64_t> train_counts;        // popularity from training only (novelty)
};

// Throws Error when `content` does not cover the split's catalogue.
EvalContext make_eval_context(const SplitData& split, const ContentVectors* content);

struct EvalResult {
  std::string recommender, task, part;                  // part: "test" or "val"
  std::vector<std::pair<std::string, double>> metrics;  // contract names, contract order
  std::vector<std::string> per_user_names;              // accuracy metric names, per user
  std::vector<uint32_t> users;                          // evaluated users (split indices), sorted
  std::vector<double> per_user;                         // users.size() × per_user_names.size()
  size_t candidates_per_user_min = 0, candidates_per_user_max = 0;
  std::vector<std::pair<std::string, size_t>> skipped;  // reason → users not evaluated
  double seconds_scoring = 0, seconds_total = 0;        // slowest rank
  double pairs_scored = 0;                              // all ranks
  std::vector<std::string> notes;  // metrics omitted and why (e.g. no content vectors)
  // How it was ranked: the parts whose items were removed from each user's candidates, the
  // parts never drawn as sampled negatives (sampled task only, else empty), the tie-order seed.
  std::vector<std::string> masked_parts, negatives_exclude_parts;
  uint64_t tie_seed = 0;

  // The metric's value; throws Error listing the metrics present when it is absent.
  double metric(std::string_view name) const;
};

// The metric names evaluate() returns, in its order, for these K values (ascending), with or
// without item content vectors (diversity@K), over `num_users` users (personalization@K needs 2).
std::vector<std::string> metric_names(const std::vector<int>& ks, bool has_content,
                                      size_t num_users);

// Evaluates on split.test, or split.val when part == "val" (anything else: UsageError). Test
// masks each user's train ∪ val items, val only the training items (test items stay candidates
// and negatives); equal scores are ordered by the seeded per-user tie key. docs/evaluation.md.
// Distributed: users are partitioned among comm ranks without padding (contiguous ranges of the
// sorted user list); each rank scores its users; per-user values and top-K lists are gathered so
// EVERY rank returns the exact one-process result (and only rank 0 writes predictions). When the
// scorer reports an item shard (Scorer::item_shard), every rank scores all users against its
// shard and the ranks merge per batch, with the same exact result. A failure on any rank (e.g.
// NaN scores) is raised on every rank.
EvalResult evaluate(Scorer& scorer, const EvalContext& context, const EvalOptions& options,
                    dist::Communicator& comm, const std::string& part = "test");

}  // namespace pixelrec::eval
