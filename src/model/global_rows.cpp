#include "model/global_rows.h"

#include <vector>

namespace pixelrec::model {

torch::Tensor rows_at_global_places(dist::TensorCollectives* ranks, int rank,
                                    const torch::Tensor& x, const torch::Tensor& places,
                                    int64_t global) {
  const bool vector = x.dim() == 1;
  const torch::Tensor rows = vector ? x.unsqueeze(1) : x;
  const auto long_options = torch::TensorOptions(torch::kLong).device(x.device());
  torch::Tensor all_rows = rows, all_places = places.to(long_options);
  if (ranks) {
    const torch::Tensor counts =
        ranks->allgather(torch::full({1}, rows.size(0), long_options)).to(torch::kCPU);
    const int64_t* count = counts.data_ptr<int64_t>();
    const int64_t widest = counts.max().item<int64_t>();
    torch::Tensor padded = torch::zeros({widest, rows.size(1)}, rows.options());
    padded.narrow(0, 0, rows.size(0)).copy_(rows.detach());
    torch::Tensor padded_places = torch::zeros({widest}, long_options);
    padded_places.narrow(0, 0, rows.size(0)).copy_(all_places);
    const torch::Tensor gathered = ranks->allgather(padded);
    const torch::Tensor gathered_places = ranks->allgather(padded_places);
    std::vector<torch::Tensor> parts, part_places;
    for (int64_t r = 0; r < counts.size(0); ++r) {
      parts.push_back(r == rank ? rows : gathered.narrow(0, r * widest, count[r]));
      part_places.push_back(gathered_places.narrow(0, r * widest, count[r]));
    }
    all_rows = torch::cat(parts);
    all_places = torch::cat(part_places);
  }
  const torch::Tensor placed =
      torch::zeros({global, rows.size(1)}, rows.options()).index_put({all_places}, all_rows);
  return vector ? placed.squeeze(1) : placed;
}

}  // namespace pixelrec::model
