// The JSON sidecar written beside every checkpoint (`X.pt` → `X.meta.json`): what the checkpoint
// manager lists, organizes, cleans up and archives without loading LibTorch. Format:
// docs/checkpoints.md.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"

namespace pixelrec::model {

struct CheckpointSummary {
  std::string kind;  // last | best | epoch
  std::string run_name;
  int epochs_completed = 0;
  int64_t global_step = 0;
  bool finished = false;
  std::string feature_fingerprint;
  int64_t parameters = 0;  // trainable values in the network and the embedding tables
  std::string monitored_metric;
  double best_value = 0;
  int best_epoch = -1;                                  // 0-based; -1 before the first validation
  std::vector<std::pair<std::string, double>> metrics;  // of the last completed epoch
};

// `X.meta.json` for checkpoint `X.pt`.
std::filesystem::path sidecar_path(const std::filesystem::path& checkpoint);

// A stable digest of the resolved config (also recorded in evaluation results).
std::string config_fingerprint(const Config& config);

// Writes the sidecar of `checkpoint` (which must exist: its size is recorded) atomically.
void write_checkpoint_sidecar(const std::filesystem::path& checkpoint, const Config& config,
                              const CheckpointSummary& summary);

}  // namespace pixelrec::model
