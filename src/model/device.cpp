#include "model/device.h"

#include <dlfcn.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

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

int training_threads(const Config& config, int local_world_size) {
  if (config.training.num_workers > 0) return config.training.num_workers;
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, local_world_size));
}

void set_compute_threads(int threads) {
  at::set_num_threads(threads);
  // A BLAS loaded beside LibTorch (OpenBLAS, for OpenCV) keeps its own thread pool.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    fn(threads);
}

}  // namespace pixelrec::model
