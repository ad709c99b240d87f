#include "model/gradient_sync.h"

#include <torch/csrc/autograd/utils/lambda_post_hook.h>

#include <algorithm>

#include "core/errors.h"
#include "model/recommender.h"

namespace pixelrec::model {

GradientSync::GradientSync(dist::Communicator& comm, torch::Device device, size_t bucket_floats)
    : comm_(comm),
      collectives_(tensor_collectives(comm)),
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
      torch::Tensor summed = bucket.flat.narrow(0, int64_t(offset_in_bucket_[k]), params_[k].numel())
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

RowGradient GradientSync::merge_rows(const RowGradient& local, int64_t dim) {
  if (!active()) return local;
  const int world = comm_.size();
  const auto on_device = torch::TensorOptions().device(device_);
  const int64_t count = local.first.defined() ? local.first.numel() : 0;
  const torch::Tensor counts =
      collectives_->allgather(torch::full({1}, count, on_device.dtype(torch::kLong)))
          .to(torch::kCPU);
  const int64_t max_count = counts.max().item<int64_t>();
  if (max_count == 0) return {};
  // Fixed-size allgather: every rank sends max_count rows, padded.
  torch::Tensor rows = torch::zeros({max_count}, on_device.dtype(torch::kLong));
  torch::Tensor grads = torch::zeros({max_count, dim}, on_device.dtype(torch::kFloat));
  if (count > 0) {
    rows.narrow(0, 0, count).copy_(local.first);
    grads.narrow(0, 0, count).copy_(local.second);
  }
  const torch::Tensor all_rows = collectives_->allgather(rows);
  const torch::Tensor all_grads = collectives_->allgather(grads);
  std::vector<torch::Tensor> row_parts, grad_parts;
  for (int r = 0; r < world; ++r) {
    const int64_t n = counts[r].item<int64_t>();
    if (n == 0) continue;
    row_parts.push_back(all_rows.narrow(0, r * max_count, n));
    grad_parts.push_back(all_grads.narrow(0, r * max_count, n));
  }
  const auto [merged, inverse] =
      torch::_unique(torch::cat(row_parts), /*sorted=*/true, /*return_inverse=*/true);
  torch::Tensor grad = torch::zeros({merged.size(0), dim}, on_device.dtype(torch::kFloat));
  grad.index_add_(0, inverse, torch::cat(grad_parts));
  return {merged, grad};
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
