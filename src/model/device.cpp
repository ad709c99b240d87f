#include "model/device.h"

#include <torch/cuda.h>

#include "core/errors.h"

namespace pixelrec::model {

torch::Device compute_device(const std::string& name, int local_rank) {
  if (name == "cpu") return torch::kCPU;
  if (name != "cuda") throw UsageError("--device must be cpu or cuda, not '" + name + "'");
#ifndef PIXELREC_WITH_CUDA
  throw Error(
      "--device cuda: this build's LibTorch has no CUDA; use --device cpu, or rebuild against "
      "the CUDA LibTorch that scripts/install_torch.sh installs (docs/distributed.md)");
#else
  if (!torch::cuda::is_available())
    throw Error(
        "--device cuda: no CUDA GPU is visible to this process (no GPU or driver on this "
        "machine, or CUDA_VISIBLE_DEVICES hides them); use --device cpu, or run on a GPU node");
  const auto gpus = int(torch::cuda::device_count());
  return {torch::kCUDA, c10::DeviceIndex(local_rank % gpus)};
#endif
}

}  // namespace pixelrec::model
