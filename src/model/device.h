// The --device flag of train, evaluate, recommend and hpo worker: the CPU, or GPU
// local_rank % GPUs of this node (one process per GPU; a single process is the single-GPU
// fallback).
#pragma once

#include <torch/types.h>

#include <string>

namespace pixelrec::model {

// Throws UsageError for a name other than cpu/cuda, Error (one line: what to do) when cuda is
// asked for and this build or machine has no CUDA device.
torch::Device compute_device(const std::string& name, int local_rank);

}  // namespace pixelrec::model
