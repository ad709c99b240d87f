// model.user_history mean on item-sharded tables: a rank's pairs pool the item ID rows of their
// users' histories, most of which other ranks own. The ranks exchange exactly the rows some
// rank needs; in training, each owned row's gradient comes back to its owner summed over ranks,
// so the owner's lazy Adam step is one process's.
#pragma once

#include <torch/torch.h>

#include "distributed/torch/tensor_collectives.h"
#include "model/embedding_table.h"

namespace pixelrec::model {

// Collective: every rank calls it together, the same number of times in the same order, even
// needing nothing. `needed`: distinct catalogue items (int64 [n], on the table's device) whose
// rows this rank wants; `table` holds the rows of items [begin, end) at rows 0, 1, ...
// Returns their rows [n, D], each looked up on its owner and summed over ranks (zeros elsewhere,
// so the values are the owner's exactly). One padded allgather of the item ids and one allreduce
// of the rows of the union (and of their gradient in backward).
torch::Tensor rows_from_owners(dist::TensorCollectives& ranks, EmbeddingTable& table, int64_t begin,
                               int64_t end, const torch::Tensor& needed);

}  // namespace pixelrec::model
