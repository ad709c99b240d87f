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

// Writes the sidecar of `checkpoint` (which must exist: its size and hash are recorded)
// atomically: to regenerate the sidecar of an existing checkpoint.
void write_checkpoint_sidecar(const std::filesystem::path& checkpoint, const Config& config,
                              const CheckpointSummary& summary);

// "best" for best.pt, "epoch" for epoch_NNNN.pt, "last" for any other checkpoint.
const char* checkpoint_kind(const std::filesystem::path& checkpoint);

// Why the sidecar of `checkpoint` does not describe it: missing, unreadable, or recording another
// file hash, epoch or step than the checkpoint's `epoch` and `global_step`; "" when it does.
std::string sidecar_mismatch(const std::filesystem::path& checkpoint, int epoch,
                             int64_t global_step);

// Writes checkpoint `bytes` to `checkpoint` with its sidecar in the crash-safe order of
// checkpoints/commit.h: pending sidecar, checkpoint, sidecar renamed into place.
void commit_checkpoint(const std::filesystem::path& checkpoint, const std::string& bytes,
                       const Config& config, const CheckpointSummary& summary);

}  // namespace pixelrec::model
