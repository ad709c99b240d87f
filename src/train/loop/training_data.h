// What a training run reads before its first step: the split, this rank's shard of the feature
// store as tensors, and every training positive (each rank derives the same global batches).
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.h"
#include "data/split_data.h"
#include "distributed/communicator.h"
#include "features/feature_store.h"
#include "model/recommender.h"

namespace pixelrec::train {

struct TrainingData {
  SplitData split;
  features::FeatureShard shard;
  std::vector<model::ContentInput> inputs;
  model::ItemFeatures features;
  std::vector<uint32_t> positive_users, positive_items;
  std::vector<uint32_t> candidates;  // training items (negatives are drawn from these)
};

// Throws Error naming the store and the fix when it is missing or from another split.
TrainingData load_training_data(const Config& config, dist::Communicator& comm);

}  // namespace pixelrec::train
