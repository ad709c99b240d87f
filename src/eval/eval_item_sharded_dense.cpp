// Full and cold_item ranking when each rank's scorer holds only an item shard. Every rank scores
// all evaluated users against its shard's catalogue items; per batch the ranks agree on each
// user's best relevant item, then exchange per-user (ahead count, local top list) rows, which
// the user's owner rank merges. Exact: the tie order depends only on (seed, user, item), so
// every shard orders a user's items identically.
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

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
// Ranks after every real candidate: the "no relevant item here" best and the list padding.
constexpr ScoredItem kNone{kMinusInf, kNoItem};

class DenseWalk {
 public:
  DenseWalk(const ShardedWalk& walk, LocalOutcome& out, std::exception_ptr& failure)
      : w_(walk), plan_(walk.plan), out_(out), failure_(failure) {
    const auto first =
        std::lower_bound(plan_.catalogue.begin(), plan_.catalogue.end(), walk.shard.begin);
    const auto last = std::lower_bound(first, plan_.catalogue.end(), walk.shard.end);
    items_ = plan_.catalogue.data() + (first - plan_.catalogue.begin());
    columns_ = size_t(last - first);
    width_ = size_t(walk.accuracy.max_k());
    slots_ = width_ + 1;
    std::tie(own_begin_, own_end_) =
        rank_share(plan_.users.size(), walk.comm.rank(), walk.comm.size());
    batch_ = std::min(walk.options.user_batch, plan_.users.size());
    const size_t ranks = size_t(walk.comm.size()), workers = size_t(walk.options.threads);
    batch_users_.resize(batch_);
    block_.resize(batch_ * columns_);
    nan_column_.resize(batch_);
    best_.resize(batch_ + 1);
    all_best_.resize(ranks * (batch_ + 1));
    rows_.resize(batch_ * slots_);
    all_rows_.resize(ranks * batch_ * slots_);
    scratch_.resize(workers);
    cursors_.assign(workers, std::vector<size_t>(ranks));
  }

  void run() {
    const size_t num_users = plan_.users.size();
    for (size_t first = 0; first < num_users; first += batch_) {
      const size_t count = std::min(batch_, num_users - first);
      run_unless_failed(failure_, [&] { score_batch(first, count); });
      if (!agree_best(first, count)) return;  // some rank failed: every rank leaves here together
      run_unless_failed(failure_, [&] {
        parallel_for(count, w_.options.threads,
                     [&](size_t i, size_t worker) { rank_locally(first, i, worker); });
      });
      w_.comm.allgather(rows_.data(), count * slots_ * sizeof(ScoredItem), all_rows_.data());
      const size_t mine_begin = std::max(first, own_begin_);
      const size_t mine_end = std::min(first + count, own_end_);
      if (mine_begin >= mine_end) continue;
      run_unless_failed(failure_, [&] {
        parallel_for(mine_end - mine_begin, w_.options.threads, [&](size_t i, size_t worker) {
          merge(first, count, mine_begin + i - first, worker);
        });
      });
    }
  }

 private:
  // Scores the batch against the shard, makes NaN ranking-safe (-inf, reported after the pass)
  // and finds each user's best relevant item among this shard's candidates.
  void score_batch(size_t first, size_t count) {
    for (size_t i = 0; i < count; ++i) batch_users_[i] = plan_.users[first + i];
    if (columns_ > 0) {
      const auto start = Clock::now();
      w_.scorer.score_block(batch_users_.data(), count, items_, columns_, block_.data());
      out_.seconds_scoring += std::chrono::duration<double>(Clock::now() - start).count();
      out_.pairs_scored += double(count) * double(columns_);
    }
    parallel_for(count, w_.options.threads, [&](size_t i, size_t) {
      float* row = block_.data() + i * columns_;
      nan_column_[i] = kNoItem;
      for (size_t j = 0; j < columns_; ++j) {
        if (!std::isnan(row[j])) continue;
        if (nan_column_[i] == kNoItem) nan_column_[i] = uint32_t(j);
        row[j] = kMinusInf;
      }
      const size_t p = first + i;
      const RankOrder order(w_.options.seed, plan_.users[p]);
      const uint32_t* relevant_end = plan_.relevant_of(p) + plan_.num_relevant(p);
      ScoredItem best = kNone;
      for (const uint32_t* r = std::lower_bound(plan_.relevant_of(p), relevant_end, w_.shard.begin);
           r != relevant_end && *r < w_.shard.end; ++r) {
        const size_t column = size_t(std::lower_bound(items_, items_ + columns_, *r) - items_);
        PIXELREC_CHECK(column < columns_ && items_[column] == *r, "relevant item not a candidate");
        best = order.better(best, ScoredItem{row[column], *r});
      }
      best_[i] = best;
    });
    for (size_t i = 0; i < count; ++i)
      if (nan_column_[i] != kNoItem)
        throw nan_score_error(w_.scorer, *w_.context.split, plan_.task, batch_users_[i],
                              items_[nan_column_[i]]);
  }

  // Allgathers the local bests and a failure flag (slot `count`); leaves the global best of
  // user i in best_[i]. Returns false when any rank has failed.
  bool agree_best(size_t first, size_t count) {
    best_[count] = ScoredItem{0, failure_ ? 1u : 0u};
    w_.comm.allgather(best_.data(), (count + 1) * sizeof(ScoredItem), all_best_.data());
    const size_t ranks = size_t(w_.comm.size());
    for (size_t r = 0; r < ranks; ++r)
      if (all_best_[r * (count + 1) + count].item != 0) return false;
    for (size_t i = 0; i < count; ++i) {
      const RankOrder order(w_.options.seed, plan_.users[first + i]);
      ScoredItem best = kNone;
      for (size_t r = 0; r < ranks; ++r) best = order.better(best, all_best_[r * (count + 1) + i]);
      best_[i] = best;
    }
    return true;
  }

  // Row i of rows_: slot 0 holds {_, candidates of this shard ahead of the global best}, slots
  // 1..max K the shard's best candidates, best first, padded with kNone. Masked items are
  // excluded exactly as rank_candidates does.
  void rank_locally(size_t first, size_t i, size_t worker) {
    const float* row = block_.data() + i * columns_;
    const uint32_t user = plan_.users[first + i];
    const RankOrder order(w_.options.seed, user);
    const uint32_t* excluded_end = plan_.masked->end(user);
    const uint32_t* excluded =
        std::lower_bound(plan_.masked->begin(user), excluded_end, w_.shard.begin);
    std::vector<ScoredItem>& scratch = scratch_[worker];
    if (scratch.size() < columns_) scratch.resize(columns_);
    size_t m = 0, ahead = 0;
    for (size_t j = 0; j < columns_; ++j) {
      const uint32_t item = items_[j];
      while (excluded != excluded_end && *excluded < item) ++excluded;
      if (excluded != excluded_end && *excluded == item) continue;
      scratch[m] = ScoredItem{row[j], item};
      ahead += order(scratch[m], best_[i]);
      ++m;
    }
    const size_t top = std::min(width_, m);
    const auto begin = scratch.begin(), top_end = begin + std::ptrdiff_t(top);
    if (top < m) std::nth_element(begin, top_end, begin + std::ptrdiff_t(m), order);
    std::sort(begin, top_end, order);
    ScoredItem* out = rows_.data() + i * slots_;
    out[0] = ScoredItem{0, uint32_t(ahead)};
    std::copy(begin, top_end, out + 1);
    std::fill(out + 1 + top, out + slots_, kNone);
  }

  // Owner rank: merges the ranks' sorted lists of batch row i into the top max K and computes
  // the user's accuracy values; "ahead" is the sum over shards.
  void merge(size_t first, size_t count, size_t i, size_t worker) {
    const size_t ranks = size_t(w_.comm.size()), p = first + i, row = p - own_begin_;
    const RankOrder order(w_.options.seed, plan_.users[p]);
    std::vector<size_t>& cursor = cursors_[worker];
    std::fill(cursor.begin(), cursor.end(), size_t(1));
    size_t ahead = 0;
    for (size_t r = 0; r < ranks; ++r) ahead += all_rows_[(r * count + i) * slots_].item;
    uint32_t* top_items = out_.top_items.data() + row * width_;
    float* top_scores = out_.top_scores.data() + row * width_;
    for (size_t k = 0; k < width_; ++k) {
      size_t from = 0;
      ScoredItem best = kNone;
      for (size_t r = 0; r < ranks; ++r) {
        if (cursor[r] == slots_) continue;
        const ScoredItem& head = all_rows_[(r * count + i) * slots_ + cursor[r]];
        if (!order(head, best)) continue;
        best = head;
        from = r;
      }
      PIXELREC_CHECK(best.item != kNoItem, "the shards hold fewer candidates than max K");
      top_items[k] = best.item;
      top_scores[k] = best.score;
      ++cursor[from];
    }
    w_.accuracy.compute(top_items, plan_.relevant_of(p), plan_.num_relevant(p), ahead,
                        out_.per_user.data() + row * w_.accuracy.num_values());
  }

  const ShardedWalk& w_;
  const EvalPlan& plan_;
  LocalOutcome& out_;
  std::exception_ptr& failure_;
  const uint32_t* items_ = nullptr;  // the shard's catalogue items, ascending (block columns)
  size_t columns_ = 0, width_ = 0, slots_ = 0, own_begin_ = 0, own_end_ = 0, batch_ = 0;
  std::vector<uint32_t> batch_users_, nan_column_;
  std::vector<float> block_;
  std::vector<ScoredItem> best_, all_best_, rows_, all_rows_;
  std::vector<std::vector<ScoredItem>> scratch_;  // per worker
  std::vector<std::vector<size_t>> cursors_;      // per worker: next slot of each rank's list
};

}  // namespace

void score_item_sharded_dense(const ShardedWalk& walk, LocalOutcome& out,
                              std::exception_ptr& failure) {
  DenseWalk(walk, out, failure).run();
}

}  // namespace pixelrec::eval::internal
