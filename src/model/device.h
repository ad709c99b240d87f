// Where and on how many threads the model computes: the --device flag of train, evaluate,
// recommend and hpo worker (the CPU, or GPU local_rank % GPUs of this node: one process per GPU;
// a single process is the single-GPU fallback), and the CPU threads of LibTorch and BLAS.
#pragma once

#include <torch/types.h>

#include <string>

#include "core/config.h"

namespace pixelrec::model {

// Throws UsageError for a name other than cpu/cuda, Error (one line: what to do) when cuda is
// asked for and this build or machine has no CUDA device.
torch::Device compute_device(const std::string& name, int local_rank);

// Threads for LibTorch and OpenBLAS: training.num_workers, or the cores shared among the ranks
// of this node when it is 0.
int training_threads(const Config& config, int local_world_size);
void set_compute_threads(int threads);

}  // namespace pixelrec::model
