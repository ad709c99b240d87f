// Checkpoints (SPEC §7): everything needed to continue training exactly or to evaluate and
// recommend: model (network + embedding tables with their optimizer state), dense optimizer,
// scheduler, early stopping, epoch/step, the RNG state, the resolved config, the shape of the
// id maps with their hashes and the feature-store fingerprint. One file, written atomically.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "model/recommender.h"

namespace pixelrec::model {

struct CheckpointMeta {
  std::string config_yaml;  // the resolved config of the run
  std::string run_name;
  std::string feature_fingerprint;
  std::string user_map_hash, item_map_hash;  // of the split's id maps
  bool use_tags = true;
  std::vector<ContentInput> content;
  RecommenderShape shape;
  // model.scorer and training.loss of the run (also in config_yaml; recorded on their own so that
  // tools read them without parsing it). Checkpoints from before they existed: mlp, bce.
  std::string scorer = "mlp", loss = "bce";
};

struct CheckpointState {
  int epoch = 0;              // the epoch in progress; step_in_epoch == 0: it has not started
  int64_t step_in_epoch = 0;  // micro-batches of `epoch` already done
  int64_t global_step = 0;    // optimizer steps so far
  double epoch_loss_sum = 0, epoch_loss_count = 0;  // running train loss of `epoch`
  double epoch_contrastive_sum = 0;                 // running contrastive loss of `epoch`
  std::vector<double> scheduler, early_stopping;
  torch::Tensor generator_state;  // optional extra RNG state (the trainer reseeds per batch)
  bool finished = false;          // training ended (epochs done or early stop)
};

// The checkpoint file's bytes (commit them with commit_checkpoint, model/checkpoint_sidecar.h).
std::string serialize_checkpoint(Recommender& model, torch::optim::Optimizer* optimizer,
                                 const CheckpointMeta& meta, const CheckpointState& state);

// Writes the checkpoint alone (no sidecar), atomically.
void save_checkpoint(const std::filesystem::path& path, Recommender& model,
                     torch::optim::Optimizer* optimizer, const CheckpointMeta& meta,
                     const CheckpointState& state);

struct LoadedCheckpoint {
  CheckpointMeta meta;
  CheckpointState state;
  Config config;
  std::unique_ptr<Recommender> model;
  std::filesystem::path path;
};

// Rebuilds the model from the stored config and loads every tensor. Throws Error naming the file
// when it is missing, truncated or not a PixelRec-MM checkpoint.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path);

// Error unless `config` asks for the scorer the checkpoint was trained with (a dot checkpoint's
// tensors do not fit the MLP head, nor the reverse): names the file, both scorers and the fix.
void check_scorer(const LoadedCheckpoint& checkpoint, const Config& config);

// Restores the dense optimizer's state saved with the checkpoint.
// The optimizer's state tensors are placed on `device` (the model's).
void load_optimizer_state(const std::filesystem::path& path, torch::optim::Optimizer& optimizer,
                          const torch::Device& device = torch::kCPU);

// A short hash of an id list (checkpoint ↔ split consistency checks).
std::string hash_ids(const std::vector<std::string>& ids);

}  // namespace pixelrec::model
