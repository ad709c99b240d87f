#include "distributed/torch/tensor_collectives.h"

#include "core/errors.h"

namespace pixelrec::dist {
namespace {

// Host memory is what dist::Communicator takes: CPU tensors are passed as they are, device
// tensors are copied out and back.
class HostStagedCollectives final : public TensorCollectives {
 public:
  explicit HostStagedCollectives(dist::Communicator& comm) : comm_(comm) {}
  bool asynchronous() const override { return false; }

  std::unique_ptr<PendingCollective> start_allreduce_sum(torch::Tensor tensor) override {
    PIXELREC_CHECK(tensor.is_contiguous(), "allreduce of a contiguous tensor");
    torch::Tensor host = tensor.to(torch::kCPU);
    const size_t n = size_t(host.numel());
    switch (host.scalar_type()) {
      case torch::kFloat:
        comm_.allreduce_sum(host.data_ptr<float>(), n);
        break;
      case torch::kDouble:
        comm_.allreduce_sum(host.data_ptr<double>(), n);
        break;
      case torch::kLong:
        comm_.allreduce_sum(host.data_ptr<int64_t>(), n);
        break;
      default:
        throw InternalError(std::string("allreduce of unsupported type ") +
                            c10::toString(host.scalar_type()));
    }
    if (!host.is_same(tensor)) tensor.copy_(host);
    return std::make_unique<CompletedCollective>();
  }

  void broadcast(const torch::Tensor& tensor, int root) override {
    PIXELREC_CHECK(tensor.is_contiguous(), "broadcast of a contiguous tensor");
    torch::Tensor host = tensor.to(torch::kCPU);
    comm_.broadcast(host.data_ptr(), size_t(host.numel()) * host.element_size(), root);
    if (!host.is_same(tensor)) tensor.copy_(host);
  }

  torch::Tensor allgather(const torch::Tensor& tensor) override {
    const torch::Tensor host = tensor.to(torch::kCPU).contiguous();
    std::vector<int64_t> shape = host.sizes().vec();
    if (shape.empty()) shape.push_back(1);
    shape[0] *= comm_.size();
    torch::Tensor all = torch::empty(shape, host.options());
    comm_.allgather(host.data_ptr(), size_t(host.numel()) * host.element_size(), all.data_ptr());
    return all.to(tensor.device());
  }

 private:
  dist::Communicator& comm_;
};

}  // namespace

std::shared_ptr<TensorCollectives> tensor_collectives(dist::Communicator& comm) {
  if (auto* own = dynamic_cast<HasTensorCollectives*>(&comm))
    return std::shared_ptr<TensorCollectives>(std::shared_ptr<void>(), &own->tensor_collectives());
  return std::make_shared<HostStagedCollectives>(comm);
}

}  // namespace pixelrec::dist
