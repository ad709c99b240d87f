// Item-sharded evaluation, the entry points: agreeing that the ranks' item shards partition the
// catalogue, and choosing the task's walk (eval_item_sharded_dense.cpp, _sampled.cpp).
#include <string>
#include <vector>

#include "core/errors.h"
#include "eval/eval_internal.h"

namespace pixelrec::eval::internal {

namespace {

std::string describe_range(uint32_t begin, uint32_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

}  // namespace

std::optional<ItemShard> agree_item_shards(dist::Communicator& comm, const Scorer& scorer,
                                           uint32_t num_items) {
  const std::optional<ItemShard> mine = scorer.item_shard();
  const int size = comm.size();
  if (size == 1) {
    if (!mine || (mine->begin == 0 && mine->end == num_items)) return std::nullopt;
    throw Error("recommender '" + scorer.name() + "' holds only the items " +
                describe_range(mine->begin, mine->end) + " of the " + std::to_string(num_items) +
                "-item catalogue, but one process must score every item; run the evaluation "
                "with the ranks the item shards were made for, or load the whole catalogue");
  }
  // Per rank: has a shard (0/1), begin, end.
  const uint32_t report[3] = {mine ? 1u : 0u, mine ? mine->begin : 0u, mine ? mine->end : 0u};
  std::vector<uint32_t> all(3 * size_t(size));
  comm.allgather(report, sizeof report, all.data());
  size_t with_shard = 0;
  bool partition = true;
  uint32_t expected_begin = 0;
  for (int r = 0; r < size; ++r) {
    const uint32_t* theirs = all.data() + 3 * size_t(r);
    with_shard += theirs[0];
    partition =
        partition && theirs[0] == 1 && theirs[1] == expected_begin && theirs[2] >= theirs[1];
    expected_begin = theirs[2];
  }
  if (with_shard == 0) return std::nullopt;
  if (partition && expected_begin == num_items) return mine;
  std::string ranges;
  for (int r = 0; r < size; ++r) {
    const uint32_t* theirs = all.data() + 3 * size_t(r);
    ranges += (r == 0 ? "rank " : ", rank ") + std::to_string(r) + ": " +
              (theirs[0] == 1 ? describe_range(theirs[1], theirs[2]) : "every item");
  }
  throw Error("the item shards of recommender '" + scorer.name() + "' do not partition the " +
              std::to_string(num_items) + "-item catalogue in rank order (" + ranges +
              "); every rank must hold a shard, rank 0 starting at item 0, each next rank where "
              "the previous one ends and the last ending at " +
              std::to_string(num_items) + " (e.g. rank r: [" + std::to_string(num_items) + "·r/" +
              std::to_string(size) + ", " + std::to_string(num_items) + "·(r+1)/" +
              std::to_string(size) + "))");
}

LocalOutcome score_item_sharded(const ShardedWalk& walk, std::exception_ptr& failure) {
  LocalOutcome out;
  const auto [begin, end] = rank_share(walk.plan.users.size(), walk.comm.rank(), walk.comm.size());
  const size_t rows = end - begin, width = size_t(walk.accuracy.max_k());
  out.per_user.resize(rows * walk.accuracy.num_values());
  out.top_items.resize(rows * width);
  out.top_scores.resize(rows * width);
  if (walk.plan.task == EvalTask::kSampled)
    score_item_sharded_sampled(walk, out, failure);
  else
    score_item_sharded_dense(walk, out, failure);
  return out;
}

}  // namespace pixelrec::eval::internal
