#include "model/item_table_shards.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "core/errors.h"
#include "distributed/torch/tensor_collectives.h"

namespace pixelrec::model {
namespace {

// Every rank's `local` rows (a [n_r] or [n_r, D] tensor, n_r = counts[r]) concatenated in rank
// order on every rank: a fixed-size allgather of the rows padded to the largest shard, on the
// rows' device.
torch::Tensor allgather_rows(dist::TensorCollectives& collectives, const torch::Tensor& local,
                             const std::vector<int64_t>& counts) {
  const int64_t max_rows = *std::max_element(counts.begin(), counts.end());
  std::vector<int64_t> shape = local.sizes().vec();
  shape[0] = max_rows;
  torch::Tensor padded = torch::zeros(shape, local.options());
  padded.narrow(0, 0, local.size(0)).copy_(local);
  const torch::Tensor all = collectives.allgather(padded);
  std::vector<torch::Tensor> parts;
  for (size_t r = 0; r < counts.size(); ++r)
    parts.push_back(all.narrow(0, int64_t(r) * max_rows, counts[r]));
  return torch::cat(parts);
}

}  // namespace

void gather_item_table(Recommender& model, dist::Communicator& comm) {
  PIXELREC_CHECK(model.items_sharded(), "gather_item_table of an unsharded model");
  torch::NoGradGuard no_grad;
  int64_t range[2] = {model.item_rows_begin(), model.item_rows_end()};
  std::vector<int64_t> ranges(size_t(comm.size()) * 2);
  comm.allgather(range, sizeof range, ranges.data());
  std::vector<int64_t> counts;
  int64_t expected_begin = 0;
  for (int r = 0; r < comm.size(); ++r) {
    const int64_t begin = ranges[size_t(r) * 2], end = ranges[size_t(r) * 2 + 1];
    if (begin != expected_begin)
      throw InternalError(
          fmt::format("item shards do not tile the catalogue: rank {} holds [{}, {})"
                      " but the previous shard ends at {}",
                      r, begin, end, expected_begin));
    counts.push_back(end - begin);
    expected_begin = end;
  }
  PIXELREC_CHECK(expected_begin == model.shape().num_items, "item shards cover the catalogue");
  const int64_t own = model.item_rows_end() - model.item_rows_begin();
  const auto collectives = dist::tensor_collectives(comm);
  std::vector<torch::Tensor> full;
  for (auto& [name, tensor] : model.item_table().state_tensors()) {
    const torch::Tensor shard_rows = tensor->narrow(0, 0, own).contiguous();
    const torch::Tensor unknown_row = tensor->narrow(0, own, 1);
    full.push_back(torch::cat({allgather_rows(*collectives, shard_rows, counts), unknown_row}));
  }
  model.unshard_items(std::move(full));
}

std::string describe_item_shard(Recommender& model) {
  int64_t bytes = 0;
  for (auto& [name, tensor] : model.item_table().state_tensors())
    bytes += tensor->numel() * tensor->element_size();
  return fmt::format("item rows [{}, {}) of {} + the unknown row ({:.1f} MiB with optimizer state)",
                     model.item_rows_begin(), model.item_rows_end(), model.shape().num_items,
                     double(bytes) / (1 << 20));
}

}  // namespace pixelrec::model
