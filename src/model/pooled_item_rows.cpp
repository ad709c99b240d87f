#include "model/pooled_item_rows.h"

#include <vector>

#include "model/sync_batch_norm.h"

namespace pixelrec::model {
namespace {

// The sorted union of every rank's ids (int64 [n] each, >= 0), on ids' device; undefined when
// no rank has any (every rank then knows it, before any further collective).
torch::Tensor union_over_ranks(dist::TensorCollectives& ranks, const torch::Tensor& ids) {
  const auto index = torch::TensorOptions(torch::kLong).device(ids.device());
  const torch::Tensor counts =
      ranks.allgather(torch::full({1}, ids.size(0), index)).to(torch::kCPU);
  const int64_t widest = counts.max().item<int64_t>();
  if (widest == 0) return {};
  torch::Tensor padded = torch::full({widest}, int64_t(-1), index);
  padded.narrow(0, 0, ids.size(0)).copy_(ids);
  const torch::Tensor all = ranks.allgather(padded);
  return std::get<0>(torch::_unique(all.masked_select(all.ge(0)), /*sorted=*/true));
}

bool owns(const OwnedItemRows& owned, int64_t item) {
  return item >= owned.begin && item < owned.end;
}

}  // namespace

torch::Tensor history_means_from_owners(dist::TensorCollectives& ranks, const OwnedItemRows& owned,
                                        const UserHistory& history, const HistoryKeys& keys) {
  const torch::Tensor& weight = owned.table.weight();
  // Exchanged where the table lives (NCCL needs device tensors), gathered from on the CPU.
  torch::Tensor all = union_over_ranks(ranks, keys.keys.to(weight.device()));
  if (!all.defined()) return torch::zeros({0, weight.size(1)}, weight.options());
  all = all.to(torch::kCPU).contiguous();
  const torch::Tensor none_skipped = torch::zeros({all.size(0)}, torch::kBool);
  const UserHistory::Gathered g =
      keys.preceding_rows ? history.gather_preceding(history.users_of_rows(all), none_skipped, all)
                          : history.gather(all.div(keys.base, "floor"), none_skipped,
                                           all.remainder(keys.base) - 1);  // -1 matches no item
  // This rank's part: its own rows of every key's history, in history order.
  const int64_t* item = g.items.data_ptr<int64_t>();
  const float* item_weight = g.weight.data_ptr<float>();
  std::vector<int64_t> items, places;
  std::vector<float> weights;
  for (int64_t k = 0; k < g.items.size(0); ++k)
    if (owns(owned, item[k])) {
      items.push_back(item[k]);
      places.push_back(g.pair.data_ptr<int64_t>()[k]);
      weights.push_back(item_weight[k]);
    }
  const auto index = torch::TensorOptions(torch::kLong).device(weight.device());
  // Looked up even when empty, so that every rank's backward reaches the allreduce.
  const torch::Tensor own_rows = owned.rows(torch::tensor(items, index)) *
                                 torch::tensor(weights, weight.options()).unsqueeze(1);
  const torch::Tensor partial = torch::zeros({all.size(0), weight.size(1)}, own_rows.options())
                                    .index_add(0, torch::tensor(places, index), own_rows);
  const torch::Tensor at = torch::searchsorted(all, keys.keys.to(torch::kCPU)).to(weight.device());
  // Every rank gathered every key's whole history: its total weight is known here (0: empty).
  const torch::Tensor total = g.count.clamp_min(1).to(weight.device()).unsqueeze(1);
  return (sum_over_ranks(partial, &ranks) / total).index_select(0, at);
}

torch::Tensor rows_from_owners(dist::TensorCollectives& ranks, const OwnedItemRows& owned,
                               const torch::Tensor& needed) {
  const torch::Tensor& weight = owned.table.weight();
  const torch::Tensor wanted = union_over_ranks(ranks, needed);
  if (!wanted.defined()) return torch::zeros({0, weight.size(1)}, weight.options());
  const torch::Tensor mine =
      wanted.ge(owned.begin).logical_and(wanted.lt(owned.end)).nonzero().squeeze(1);
  const torch::Tensor own_rows = owned.rows(wanted.index_select(0, mine));
  const torch::Tensor placed = torch::zeros({wanted.size(0), weight.size(1)}, own_rows.options())
                                   .index_put({mine}, own_rows);
  return sum_over_ranks(placed, &ranks).index_select(0, torch::searchsorted(wanted, needed));
}

}  // namespace pixelrec::model
