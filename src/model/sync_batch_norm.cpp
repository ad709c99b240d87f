#include "model/sync_batch_norm.h"

#include <string>

#include "core/errors.h"

namespace pixelrec::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

class SumOverRanks : public torch::autograd::Function<SumOverRanks> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t ranks) {
    ctx->saved_data["ranks"] = ranks;
    torch::Tensor sum = x.contiguous().clone();
    reinterpret_cast<dist::TensorCollectives*>(ranks)->allreduce_sum(sum);
    return sum;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto* ranks = reinterpret_cast<dist::TensorCollectives*>(ctx->saved_data["ranks"].toInt());
    torch::Tensor sum = grads[0].contiguous().clone();
    ranks->allreduce_sum(sum);
    return {sum, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor sum_over_ranks(const torch::Tensor& x, dist::TensorCollectives* ranks) {
  if (!ranks) return x;
  return SumOverRanks::apply(x, reinterpret_cast<int64_t>(ranks));
}

torch::Tensor batch_norm_over_ranks(const torch::Tensor& x, torch::nn::BatchNorm1dImpl& bn,
                                    dist::TensorCollectives* ranks) {
  const torch::Tensor rows = x.to(torch::kFloat);  // statistics in float32 under autocast too
  const int64_t width = rows.size(1);
  // One collective for the sums and the row count, a second for the centred squares (two passes,
  // as precise as one process's BatchNorm).
  const torch::Tensor totals = sum_over_ranks(
      torch::cat({rows.sum(0), torch::full({1}, double(rows.size(0)), rows.options())}), ranks);
  const torch::Tensor count = totals.narrow(0, width, 1).detach();
  const double n = count.item<double>();
  if (n < 2)
    throw Error("BatchNorm needs at least 2 rows in a training batch, the batch has " +
                std::to_string(int64_t(n)) + "; raise training.batch_size");
  const torch::Tensor mean = totals.narrow(0, 0, width) / count;
  const torch::Tensor centred = rows - mean;
  const torch::Tensor variance = sum_over_ranks(centred.square().sum(0), ranks) / count;
  const auto& options = bn.options;
  {
    torch::NoGradGuard no_grad;
    bn.num_batches_tracked += 1;
    const double momentum = options.momentum().has_value()
                                ? *options.momentum()
                                : 1.0 / bn.num_batches_tracked.item<double>();
    bn.running_mean.mul_(1 - momentum).add_(mean.detach(), momentum);
    bn.running_var.mul_(1 - momentum).add_(variance.detach() * (n / (n - 1)), momentum);
  }
  torch::Tensor y = centred * torch::rsqrt(variance + options.eps());
  if (options.affine()) y = y * bn.weight + bn.bias;
  return y;
}

}  // namespace pixelrec::model
