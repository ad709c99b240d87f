// Sampled ranking when each rank's scorer holds only an item shard. Every rank draws all users'
// candidates in the same batches and scores only the pairs whose item is in its shard; one
// allreduce-sum per batch assembles the scores (each pair scored by exactly one rank), and each
// rank ranks its own users' rows exactly as the ordinary walk does.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/parallel.h"
#include "eval/eval_internal.h"

namespace pixelrec::eval::internal {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kNoPair = std::numeric_limits<size_t>::max();

class SampledWalk {
 public:
  SampledWalk(const ShardedWalk& walk, LocalOutcome& out, std::exception_ptr& failure)
      : w_(walk), plan_(walk.plan), out_(out), failure_(failure) {
    std::tie(own_begin_, own_end_) =
        rank_share(plan_.users.size(), walk.comm.rank(), walk.comm.size());
    batch_ = std::min(walk.options.user_batch, plan_.users.size());
    const size_t workers = size_t(walk.options.threads);
    offsets_.resize(batch_ + 1);
    local_offsets_.resize(batch_ + 1);
    nan_pair_.resize(batch_);
    marks_.assign(workers, std::vector<uint8_t>(walk.context.split->num_items(), 0));
    scratch_.resize(workers);
  }

  void run() {
    const size_t num_users = plan_.users.size();
    for (size_t first = 0; first < num_users; first += batch_) {
      const size_t count = std::min(batch_, num_users - first);
      offsets_[0] = 0;
      for (size_t i = 0; i < count; ++i)
        offsets_[i + 1] = offsets_[i] + plan_.candidate_counts[first + i];
      const size_t pairs = offsets_[count];
      if (scores_.size() < pairs + 1) {  // grows to the largest batch, then reused
        pair_items_.resize(pairs);
        scores_.resize(pairs + 1);
        compact_users_.resize(pairs);
        compact_items_.resize(pairs);
        compact_scores_.resize(pairs);
      }
      run_unless_failed(failure_, [&] { score_batch(first, count); });
      // The last element is the failure flag: every rank sees the same sum and leaves together.
      scores_[pairs] = failure_ ? 1.0f : 0.0f;
      w_.comm.allreduce_sum(scores_.data(), pairs + 1);
      if (scores_[pairs] != 0) return;
      const size_t mine_begin = std::max(first, own_begin_);
      const size_t mine_end = std::min(first + count, own_end_);
      if (mine_begin >= mine_end) continue;
      run_unless_failed(failure_, [&] {
        parallel_for(mine_end - mine_begin, w_.options.threads, [&](size_t i, size_t worker) {
          finish_user(first, mine_begin + i - first, worker);
        });
      });
    }
  }

 private:
  bool in_shard(uint32_t item) const { return item >= w_.shard.begin && item < w_.shard.end; }

  // Draws the batch's candidates (relevant items first, then the negatives), scores the pairs
  // in this shard and writes every score slot: the shard's scores (NaN made -inf and reported
  // after the pass) and -0.0 elsewhere, the identity of float addition (x + -0.0 == x).
  void score_batch(size_t first, size_t count) {
    const SplitData& split = *w_.context.split;
    parallel_for(count, w_.options.threads, [&](size_t i, size_t worker) {
      const size_t p = first + i, num_relevant = plan_.num_relevant(p);
      uint32_t* items = pair_items_.data() + offsets_[i];
      std::copy(plan_.relevant_of(p), plan_.relevant_of(p) + num_relevant, items);
      const size_t wanted = plan_.candidate_counts[p] - num_relevant;
      const size_t drawn =
          sample_negatives(plan_.users[p], wanted, w_.options.seed, *plan_.known, split.num_items(),
                           marks_[worker], items + num_relevant);
      PIXELREC_CHECK(drawn == wanted, "negative count differs from the plan");
      size_t local = 0;
      for (size_t c = 0; c < plan_.candidate_counts[p]; ++c) local += in_shard(items[c]);
      local_offsets_[i + 1] = local;  // a count for now; the prefix sum follows
    });
    local_offsets_[0] = 0;
    for (size_t i = 0; i < count; ++i) local_offsets_[i + 1] += local_offsets_[i];
    parallel_for(count, w_.options.threads, [&](size_t i, size_t) {
      size_t next = local_offsets_[i];
      for (size_t c = offsets_[i]; c < offsets_[i + 1]; ++c) {
        if (!in_shard(pair_items_[c])) continue;
        compact_users_[next] = plan_.users[first + i];
        compact_items_[next++] = pair_items_[c];
      }
    });
    const size_t local_pairs = local_offsets_[count];
    if (local_pairs > 0) {
      const auto start = Clock::now();
      w_.scorer.score_pairs(compact_users_.data(), compact_items_.data(), local_pairs,
                            compact_scores_.data());
      out_.seconds_scoring += std::chrono::duration<double>(Clock::now() - start).count();
      out_.pairs_scored += double(local_pairs);
    }
    parallel_for(count, w_.options.threads, [&](size_t i, size_t) {
      size_t next = local_offsets_[i];
      nan_pair_[i] = kNoPair;
      for (size_t c = offsets_[i]; c < offsets_[i + 1]; ++c) {
        if (!in_shard(pair_items_[c])) {
          scores_[c] = -0.0f;
          continue;
        }
        const float score = compact_scores_[next++];
        if (std::isnan(score) && nan_pair_[i] == kNoPair) nan_pair_[i] = c;
        scores_[c] = std::isnan(score) ? -std::numeric_limits<float>::infinity() : score;
      }
    });
    for (size_t i = 0; i < count; ++i)
      if (nan_pair_[i] != kNoPair)
        throw nan_score_error(w_.scorer, split, plan_.task, plan_.users[first + i],
                              pair_items_[nan_pair_[i]]);
  }

  // Ranks batch row i (one of this rank's users) from the assembled scores.
  void finish_user(size_t first, size_t i, size_t worker) {
    const size_t p = first + i, row = p - own_begin_, width = size_t(w_.accuracy.max_k());
    const float* scores = scores_.data() + offsets_[i];
    const uint32_t* items = pair_items_.data() + offsets_[i];
    const RankOrder order(w_.options.seed, plan_.users[p]);
    ScoredItem best{scores[0], items[0]};
    for (size_t r = 1; r < plan_.num_relevant(p); ++r)
      best = order.better(best, ScoredItem{scores[r], items[r]});
    uint32_t* top = out_.top_items.data() + row * width;
    const size_t ahead =
        rank_candidates(scores, items, plan_.candidate_counts[p], nullptr, nullptr, order, best,
                        width, scratch_[worker], top, out_.top_scores.data() + row * width);
    w_.accuracy.compute(top, plan_.relevant_of(p), plan_.num_relevant(p), ahead,
                        out_.per_user.data() + row * w_.accuracy.num_values());
  }

  const ShardedWalk& w_;
  const EvalPlan& plan_;
  LocalOutcome& out_;
  std::exception_ptr& failure_;
  size_t own_begin_ = 0, own_end_ = 0, batch_ = 0;
  std::vector<uint64_t> offsets_, local_offsets_;  // CSR of the batch's pairs, all / in shard
  std::vector<size_t> nan_pair_;                   // per batch row: first NaN pair or kNoPair
  std::vector<uint32_t> pair_items_, compact_users_, compact_items_;
  std::vector<float> scores_, compact_scores_;    // scores_: the batch's pairs + failure flag
  std::vector<std::vector<uint8_t>> marks_;       // per worker, for sample_negatives
  std::vector<std::vector<ScoredItem>> scratch_;  // per worker, for rank_candidates
};

}  // namespace

void score_item_sharded_sampled(const ShardedWalk& walk, LocalOutcome& out,
                                std::exception_ptr& failure) {
  SampledWalk(walk, out, failure).run();
}

}  // namespace pixelrec::eval::internal
