#include "model/gradient_sync.h"

#include <torch/csrc/autograd/utils/lambda_post_hook.h>

#include <algorithm>
#include <cstring>

#include "core/errors.h"
#include "model/recommender.h"

namespace pixelrec::model {

GradientSync::GradientSync(dist::Communicator& comm, torch::Device device, size_t bucket_floats)
    : comm_(comm),
      collectives_(dist::tensor_collectives(comm)),
      device_(device),
      bucket_floats_(std::max<size_t>(bucket_floats, 1)) {}

GradientSync::~GradientSync() {
  for (auto& [node, key] : hooks_) node->del_post_hook(key);
}

void GradientSync::broadcast_parameters(Recommender& model) {
  if (!active()) return;
  torch::NoGradGuard no_grad;
  const auto send = [&](const torch::Tensor& t) {
    PIXELREC_CHECK(t.is_contiguous(), "parameters are contiguous");
    collectives_->broadcast(t, 0);
  };
  for (auto& p : model.network()->parameters()) send(p);
  for (auto& b : model.network()->buffers()) send(b);
  for (auto* table : model.tables()) send(table->weight());
}

void GradientSync::register_dense(const std::vector<torch::Tensor>& params) {
  if (!active() || !params_.empty()) return;
  params_ = params;
  bucket_of_.assign(params.size(), 0);
  offset_in_bucket_.assign(params.size(), 0);
  // Reverse order: backward computes the last layers' gradients first.
  size_t floats = 0;
  for (size_t k = params.size(); k-- > 0;) {
    const size_t n = size_t(params[k].numel());
    if (buckets_.empty() || (floats > 0 && floats + n > bucket_floats_)) {
      buckets_.emplace_back();
      floats = 0;
    }
    bucket_of_[k] = buckets_.size() - 1;
    offset_in_bucket_[k] = floats;
    buckets_.back().params.push_back(k);
    floats += n;
  }
  for (Bucket& b : buckets_) {
    int64_t total = 0;
    for (size_t k : b.params) total += params[k].numel();
    b.flat = torch::zeros({total}, torch::TensorOptions(torch::kFloat).device(device_));
  }
  reset_buckets();
  if (!collectives_->asynchronous()) return;
  // A post hook of a parameter's gradient accumulator runs once its .grad holds this backward's
  // gradient (c10d::Reducer hooks the same place).
  for (size_t k = 0; k < params.size(); ++k) {
    auto accumulator = torch::autograd::impl::grad_accumulator(params[k]);
    const uintptr_t key =
        accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
            [this, k](const torch::autograd::variable_list& outputs,
                      const torch::autograd::variable_list&) {
              on_gradient_ready(k);
              return outputs;
            }));
    hooks_.emplace_back(std::move(accumulator), key);
  }
}

void GradientSync::arm_overlap() { armed_ = active() && collectives_->asynchronous(); }

void GradientSync::reset_buckets() {
  for (Bucket& b : buckets_) {
    b.waiting = b.params.size();
    b.pending.reset();
  }
  next_launch_ = 0;
  armed_ = false;
}

void GradientSync::on_gradient_ready(size_t param) {
  if (!armed_) return;
  Bucket& bucket = buckets_[bucket_of_[param]];
  if (bucket.waiting > 0 && --bucket.waiting == 0) launch_ready_buckets();
}

void GradientSync::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].waiting == 0) {
    launch(next_launch_++);
    ++overlapped_;
  }
}

void GradientSync::launch(size_t index) {
  torch::NoGradGuard no_grad;
  Bucket& bucket = buckets_[index];
  for (size_t k : bucket.params) {
    const torch::Tensor& g = params_[k].grad();
    torch::Tensor slot = bucket.flat.narrow(0, int64_t(offset_in_bucket_[k]), params_[k].numel());
    if (g.defined())
      slot.copy_(g.reshape({-1}));
    else
      slot.zero_();
  }
  bucket.pending = collectives_->start_allreduce_sum(bucket.flat);
}

void GradientSync::allreduce_dense(const std::vector<torch::Tensor>& params) {
  if (!active()) return;
  register_dense(params);
  PIXELREC_CHECK(params.size() == params_.size(), "allreduce_dense of the registered parameters");
  torch::NoGradGuard no_grad;
  // Backward may have launched a prefix of the buckets; the rest go now, in the same order.
  while (next_launch_ < buckets_.size()) launch(next_launch_++);
  for (Bucket& bucket : buckets_) {
    bucket.pending->wait();
    for (size_t k : bucket.params) {
      torch::Tensor summed =
          bucket.flat.narrow(0, int64_t(offset_in_bucket_[k]), params_[k].numel())
              .view(params_[k].sizes());
      torch::Tensor& grad = params_[k].mutable_grad();
      if (grad.defined())
        grad.copy_(summed);
      else
        grad = summed.clone();
    }
  }
  reset_buckets();
}

RowGradient GradientSync::merge_rows_dense(const RowGradient& local, int64_t dim,
                                           int64_t table_rows) {
  // [gradient..., touched] per row: one allreduce carries the sums and which rows any rank used
  // (a touched row with a zero gradient still takes its lazy optimizer step).
  torch::Tensor dense = torch::zeros({table_rows, dim + 1}, torch::TensorOptions().device(device_));
  if (local.first.defined() && local.first.numel() > 0) {
    dense.narrow(1, 0, dim).index_add_(0, local.first, local.second);
    dense.narrow(1, dim, 1).index_fill_(0, local.first, 1.0f);
  }
  collectives_->allreduce_sum(dense);
  const torch::Tensor rows = dense.select(1, dim).gt(0).nonzero().squeeze(1);
  if (rows.numel() == 0) return {};
  return {rows, dense.narrow(1, 0, dim).index_select(0, rows)};
}

RowGradient GradientSync::merge_shared_row(const RowGradient& local, int64_t row, int64_t dim) {
  if (!active()) return local;
  // [gradient..., touched]: one allreduce carries the sum and whether any rank used the row.
  torch::Tensor buffer = torch::zeros({dim + 1}, torch::TensorOptions().device(device_));
  if (local.first.defined() && local.first.numel() > 0) {
    PIXELREC_CHECK(local.first.numel() == 1 && local.first.item<int64_t>() == row,
                   "a shared-row gradient holds that row only");
    buffer.narrow(0, 0, dim).copy_(local.second.reshape({-1}));
    buffer[dim].fill_(1.0f);
  }
  collectives_->allreduce_sum(buffer);
  if (buffer[dim].item<float>() == 0.0f) return {};
  return {torch::full({1}, row, torch::TensorOptions(torch::kLong).device(device_)),
          buffer.narrow(0, 0, dim).reshape({1, dim}).clone()};
}

int GradientSync::agreed_signal() {
  const int agreed = agreed_signal_ >= 0 ? agreed_signal_ : agree_on_signal(noted_signal_);
  agreed_signal_ = -1;
  noted_signal_ = 0;
  return agreed;
}

namespace {

int64_t round_up_8(int64_t bytes) { return (bytes + 7) / 8 * 8; }

// The rows of every rank for one table, concatenated, merged by row (sorted), summed.
RowGradient sum_by_row(const std::vector<torch::Tensor>& row_parts,
                       const std::vector<torch::Tensor>& grad_parts, int64_t dim,
                       const torch::Device& device) {
  if (row_parts.empty()) return {};
  const auto [merged, inverse] =
      torch::_unique(torch::cat(row_parts), /*sorted=*/true, /*return_inverse=*/true);
  torch::Tensor grad =
      torch::zeros({merged.size(0), dim}, torch::TensorOptions(torch::kFloat).device(device));
  grad.index_add_(0, inverse, torch::cat(grad_parts));
  return {merged, grad};
}

}  // namespace

GradientSync::RowExchange GradientSync::exchange_rows(const std::vector<RowGradient>& local,
                                                      const std::vector<int64_t>& dims,
                                                      const std::vector<int64_t>& table_rows,
                                                      double shard_squared_norm, int local_signal) {
  const size_t tables = local.size();
  PIXELREC_CHECK(dims.size() == tables && table_rows.size() == tables, "one dim/rows per table");
  RowExchange out;
  out.merged.resize(tables);
  if (!active()) {
    out.merged = local;
    out.shard_squared_norm = shard_squared_norm;
    out.signal = local_signal;
    return out;
  }
  const int world = comm_.size();
  const auto on_device = torch::TensorOptions().device(device_);
  // Header: [count per table..., signal, the squared norm's bits].
  const int64_t width = int64_t(tables) + 2;
  std::vector<int64_t> header(size_t(width), 0);
  for (size_t t = 0; t < tables; ++t)
    header[t] = local[t].first.defined() ? local[t].first.numel() : 0;
  header[tables] = local_signal;
  std::memcpy(&header[tables + 1], &shard_squared_norm, sizeof(double));
  const torch::Tensor all_headers =
      collectives_->allgather(torch::tensor(header, torch::kLong).to(device_))
          .to(torch::kCPU)
          .reshape({world, width});
  const int64_t* h = all_headers.data_ptr<int64_t>();
  for (int r = 0; r < world; ++r) {
    out.signal = std::max<int>(out.signal, int(h[r * width + int64_t(tables)]));
    double norm = 0;
    std::memcpy(&norm, &h[r * width + int64_t(tables) + 1], sizeof(double));
    out.shard_squared_norm += norm;
  }
  // Per table: the largest count; dense tables first (one allreduce each), then one packed
  // allgather of the others: [rows int64 x max][gradients float x max x dim], 8-byte aligned.
  std::vector<int64_t> max_count(tables, 0), offset(tables, 0);
  std::vector<bool> packed(tables, false);
  int64_t bytes = 0;
  for (size_t t = 0; t < tables; ++t) {
    for (int r = 0; r < world; ++r)
      max_count[t] = std::max(max_count[t], h[r * width + int64_t(t)]);
    if (max_count[t] == 0) continue;
    if (int64_t(world) * max_count[t] > 2 * table_rows[t]) {
      out.merged[t] = merge_rows_dense(local[t], dims[t], table_rows[t]);
      continue;
    }
    packed[t] = true;
    offset[t] = bytes;
    bytes += max_count[t] * 8 + round_up_8(max_count[t] * dims[t] * 4);
  }
  if (bytes == 0) return out;
  torch::Tensor mine = torch::zeros({bytes}, on_device.dtype(torch::kByte));
  const auto rows_view = [&](const torch::Tensor& buffer, size_t t) {
    return buffer.narrow(0, offset[t], max_count[t] * 8).view(torch::kLong);
  };
  const auto grads_view = [&](const torch::Tensor& buffer, size_t t) {
    return buffer.narrow(0, offset[t] + max_count[t] * 8, max_count[t] * dims[t] * 4)
        .view(torch::kFloat)
        .reshape({max_count[t], dims[t]});
  };
  for (size_t t = 0; t < tables; ++t) {
    const int64_t count = header[t];
    if (!packed[t] || count == 0) continue;
    rows_view(mine, t).narrow(0, 0, count).copy_(local[t].first);
    grads_view(mine, t).narrow(0, 0, count).copy_(local[t].second);
  }
  const torch::Tensor all = collectives_->allgather(mine);
  for (size_t t = 0; t < tables; ++t) {
    if (!packed[t]) continue;
    std::vector<torch::Tensor> row_parts, grad_parts;
    for (int r = 0; r < world; ++r) {
      const int64_t n = h[r * width + int64_t(t)];
      if (n == 0) continue;
      const torch::Tensor theirs = all.narrow(0, r * bytes, bytes);
      row_parts.push_back(rows_view(theirs, t).narrow(0, 0, n));
      grad_parts.push_back(grads_view(theirs, t).narrow(0, 0, n));
    }
    out.merged[t] = sum_by_row(row_parts, grad_parts, dims[t], device_);
  }
  return out;
}

int GradientSync::agree_on_signal(int local_signal) {
  if (!active()) return local_signal;
  std::vector<int64_t> signals(size_t(comm_.size()), 0);
  const int64_t mine = local_signal;
  comm_.allgather(&mine, sizeof mine, signals.data());
  return int(*std::max_element(signals.begin(), signals.end()));
}

}  // namespace pixelrec::model
