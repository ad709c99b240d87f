#include "model/gradient_sync.h"

#include <algorithm>

#include "core/errors.h"
#include "model/recommender.h"

namespace pixelrec::model {

GradientSync::GradientSync(dist::Communicator& comm, torch::Device device, size_t bucket_floats)
    : comm_(comm), device_(device), bucket_floats_(bucket_floats) {}

void GradientSync::broadcast_parameters(Recommender& model) {
  if (!active()) return;
  torch::NoGradGuard no_grad;
  const auto send = [&](torch::Tensor t) {
    PIXELREC_CHECK(t.is_contiguous(), "parameters are contiguous");
    torch::Tensor host = t.is_cpu() ? t : t.to(torch::kCPU);
    comm_.broadcast(host.data_ptr(), size_t(host.numel()) * host.element_size(), 0);
    if (!t.is_cpu()) t.copy_(host);
  };
  for (auto& p : model.network()->parameters()) send(p);
  for (auto& b : model.network()->buffers()) send(b);
  for (auto* table : model.tables()) send(table->weight());
}

void GradientSync::allreduce_dense(const std::vector<torch::Tensor>& params) {
  if (!active()) return;
  torch::NoGradGuard no_grad;
  size_t begin = 0;
  while (begin < params.size()) {
    // One bucket: consecutive parameters up to bucket_floats_ values (at least one parameter).
    size_t end = begin, floats = 0;
    while (end < params.size() &&
           (end == begin || floats + size_t(params[end].numel()) <= bucket_floats_))
      floats += size_t(params[end++].numel());
    bucket_.resize(floats);
    size_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      const size_t n = size_t(params[i].numel());
      const torch::Tensor& g = params[i].grad();
      if (g.defined())
        std::copy_n(g.to(torch::kCPU).contiguous().data_ptr<float>(), n, bucket_.data() + offset);
      else
        std::fill_n(bucket_.data() + offset, n, 0.0f);
      offset += n;
    }
    comm_.allreduce_sum(bucket_.data(), bucket_.size());
    offset = 0;
    for (size_t i = begin; i < end; ++i) {
      const int64_t n = params[i].numel();
      torch::Tensor summed = torch::from_blob(bucket_.data() + offset, params[i].sizes()).clone();
      params[i].mutable_grad() = summed.to(device_);
      offset += size_t(n);
    }
    begin = end;
  }
}

RowGradient GradientSync::merge_rows(const RowGradient& local, int64_t dim) {
  if (!active()) return local;
  const int world = comm_.size();
  int64_t count = local.first.defined() ? local.first.numel() : 0;
  std::vector<int64_t> counts(size_t(world), 0);
  comm_.allgather(&count, sizeof count, counts.data());
  const int64_t max_count = *std::max_element(counts.begin(), counts.end());
  if (max_count == 0) return {};
  // Fixed-size allgather: every rank sends max_count rows, padded.
  std::vector<int64_t> rows(size_t(max_count), 0), all_rows(size_t(max_count) * world);
  std::vector<float> grads(size_t(max_count * dim), 0.0f), all_grads(grads.size() * world);
  if (count > 0) {
    std::copy_n(local.first.to(torch::kCPU).contiguous().data_ptr<int64_t>(), count, rows.data());
    std::copy_n(local.second.to(torch::kCPU).contiguous().data_ptr<float>(), count * dim,
                grads.data());
  }
  comm_.allgather(rows.data(), rows.size() * sizeof(int64_t), all_rows.data());
  comm_.allgather(grads.data(), grads.size() * sizeof(float), all_grads.data());
  std::vector<torch::Tensor> row_parts, grad_parts;
  for (int r = 0; r < world; ++r) {
    const int64_t n = counts[size_t(r)];
    if (n == 0) continue;
    row_parts.push_back(
        torch::from_blob(all_rows.data() + size_t(r) * max_count, {n}, torch::kLong));
    grad_parts.push_back(
        torch::from_blob(all_grads.data() + size_t(r) * max_count * dim, {n, dim}));
  }
  const auto [merged, inverse] =
      torch::_unique(torch::cat(row_parts), /*sorted=*/true, /*return_inverse=*/true);
  torch::Tensor grad = torch::zeros({merged.size(0), dim});
  grad.index_add_(0, inverse, torch::cat(grad_parts));
  return {merged.to(device_), grad.to(device_)};
}

RowGradient GradientSync::merge_shared_row(const RowGradient& local, int64_t row, int64_t dim) {
  if (!active()) return local;
  // [gradient..., touched]: one allreduce carries the sum and whether any rank used the row.
  std::vector<float> buffer(size_t(dim) + 1, 0.0f);
  if (local.first.defined() && local.first.numel() > 0) {
    PIXELREC_CHECK(local.first.numel() == 1 && local.first.item<int64_t>() == row,
                   "a shared-row gradient holds that row only");
    std::copy_n(local.second.to(torch::kCPU).contiguous().data_ptr<float>(), dim, buffer.data());
    buffer[size_t(dim)] = 1.0f;
  }
  comm_.allreduce_sum(buffer.data(), buffer.size());
  if (buffer[size_t(dim)] == 0.0f) return {};
  return {torch::full({1}, row, torch::TensorOptions(torch::kLong).device(device_)),
          torch::from_blob(buffer.data(), {1, dim}).clone().to(device_)};
}

double GradientSync::sum_over_ranks(double value) {
  if (active()) comm_.allreduce_sum(&value, 1);
  return value;
}

int GradientSync::agree_on_signal(int local_signal) {
  if (!active()) return local_signal;
  std::vector<int64_t> signals(size_t(comm_.size()), 0);
  const int64_t mine = local_signal;
  comm_.allgather(&mine, sizeof mine, signals.data());
  return int(*std::max_element(signals.begin(), signals.end()));
}

}  // namespace pixelrec::model
