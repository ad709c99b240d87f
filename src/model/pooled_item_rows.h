// model.user_history mean on item-sharded tables: a rank's pairs pool the item ID rows of their
// users' histories, most of which other ranks own. In training each owner sums the rows it holds
// for every pooled (user, left-out item) of the global batch, and the sums are added over ranks:
// the volume is the batch's, not its histories' (L rows a user), and in backward each owner gets
// its rows' whole gradient, so its lazy Adam step is one process's. Scoring instead takes the
// rows of every history item once (rows_from_owners).
#pragma once

#include <torch/torch.h>

#include <functional>

#include "distributed/torch/tensor_collectives.h"
#include "model/embedding_table.h"
#include "model/user_history.h"

namespace pixelrec::model {

// The rows of the items [begin, end) that `table` holds at rows 0, 1, ... of a rank's shard.
struct OwnedItemRows {
  EmbeddingTable& table;
  int64_t begin = 0, end = 0;
  // Optional: what each owned row adds, [n, D] for catalogue items int64 [n] (even n = 0), e.g.
  // the item's content vector (model.user_history_content), computed from the owner's features.
  std::function<torch::Tensor(const torch::Tensor&)> added;
  torch::Tensor rows(const torch::Tensor& items) const {
    const torch::Tensor own = table.lookup(items - begin);
    return added ? own + added(items) : own;
  }
};

// Collective: every rank calls these together, the same number of times in the same order, even
// needing nothing; each costs two allgathers (counts, then padded keys) and one allreduce (and
// one more in backward).

// What each pair that pools something pools: keys int64 [n] (CPU), either user * base +
// left-out item + 1 (0: none), the user's latest items (UserHistory::gather), or, with
// preceding_rows, the training row whose earlier items it pools (UserHistory::gather_preceding).
struct HistoryKeys {
  torch::Tensor keys;
  int64_t base = 0;
  bool preceding_rows = false;
};

// Returns [n, D]: the weighted mean (Gathered::weight) of the rows of each key's history (zeros
// for an empty one), each row from its owner (per-rank partial sums, summed over ranks, divided by
// the history's total weight, which every rank knows).
torch::Tensor history_means_from_owners(dist::TensorCollectives& ranks, const OwnedItemRows& owned,
                                        const UserHistory& history, const HistoryKeys& keys);

// needed: distinct catalogue items (int64 [n], on the table's device). Returns their rows
// [n, D], each looked up on its owner (zeros elsewhere, so the values are exactly the owner's).
torch::Tensor rows_from_owners(dist::TensorCollectives& ranks, const OwnedItemRows& owned,
                               const torch::Tensor& needed);

}  // namespace pixelrec::model
