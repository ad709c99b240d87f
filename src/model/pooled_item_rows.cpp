#include "model/pooled_item_rows.h"

#include "model/sync_batch_norm.h"

namespace pixelrec::model {

torch::Tensor rows_from_owners(dist::TensorCollectives& ranks, EmbeddingTable& table, int64_t begin,
                               int64_t end, const torch::Tensor& needed) {
  const auto index = torch::TensorOptions(torch::kLong).device(needed.device());
  const int64_t n = needed.size(0), dim = table.weight().size(1);
  const torch::Tensor counts = ranks.allgather(torch::full({1}, n, index)).to(torch::kCPU);
  const int64_t widest = counts.max().item<int64_t>();
  // No rank needs a row: every rank leaves here, before any further collective.
  if (widest == 0) return torch::zeros({0, dim}, table.weight().options());
  torch::Tensor padded = torch::full({widest}, int64_t(-1), index);
  padded.narrow(0, 0, n).copy_(needed);
  const torch::Tensor all = ranks.allgather(padded);
  const torch::Tensor wanted =
      std::get<0>(torch::_unique(all.masked_select(all.ge(0)), /*sorted=*/true));
  const torch::Tensor owned = wanted.ge(begin).logical_and(wanted.lt(end)).nonzero().squeeze(1);
  // Looked up even when empty, so that every rank's backward reaches the allreduce.
  const torch::Tensor own_rows = table.lookup(wanted.index_select(0, owned) - begin);
  const torch::Tensor placed =
      torch::zeros({wanted.size(0), dim}, own_rows.options()).index_put({owned}, own_rows);
  return sum_over_ranks(placed, &ranks).index_select(0, torch::searchsorted(wanted, needed));
}

}  // namespace pixelrec::model
