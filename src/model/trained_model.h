// A trained model ready to score: the checkpoint (from --checkpoint PATH, or the run's best.pt,
// else last.pt) checked against the config's split and feature store, the item features (the
// whole catalogue's, or one rank's shard), and the eval::Scorer over them. Shared by
// `pixelrec evaluate` and `recommend`.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/config.h"
#include "data/split_data.h"
#include "model/checkpoint.h"
#include "model/model_scorer.h"

namespace pixelrec::model {

struct TrainedModel {
  LoadedCheckpoint checkpoint;
  ItemFeatures features;
  std::unique_ptr<ModelScorer> scorer;
};

// run_name / checkpoint: as the CLI flags (one of them non-empty). Throws UsageError when neither
// is given, Error when the checkpoint does not match the split (id maps) or the store (features).
std::filesystem::path checkpoint_for(const Config& config, const std::string& run_name,
                                     const std::string& checkpoint);
// With world > 1 the model is rank `rank`'s share for item-sharded evaluation: the item features
// and item-table rows of its shard only (items split evenly: every item costs one score per user),
// and a scorer that reports that shard (eval::Scorer::item_shard). `device`: where the model and
// the item features live while scoring (--device).
std::unique_ptr<TrainedModel> load_trained_model(const Config& config, const SplitData& split,
                                                 const std::filesystem::path& checkpoint,
                                                 bool final_activation, int rank = 0, int world = 1,
                                                 const torch::Device& device = torch::kCPU);

}  // namespace pixelrec::model
