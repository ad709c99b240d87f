#include "train/loop/training_data.h"

#include <filesystem>

#include "core/errors.h"
#include "data/negative_sampler.h"

namespace pixelrec::train {

namespace fs = std::filesystem;

TrainingData load_training_data(const Config& config, dist::Communicator& comm) {
  TrainingData s;
  s.split = load_split_data(config);
  const fs::path store = config.feature_store_path();
  if (!fs::exists(store))
    throw Error("feature store " + store.string() + " does not exist; run `pixelrec cache` first");
  for (uint32_t i = 0; i < s.split.num_items(); ++i)
    if (s.split.item_in_train[i]) s.candidates.push_back(i);
  // Shards balanced on expected pairs (positives and their negatives), not positives alone.
  const std::vector<int64_t> weights =
      shard_weights(parse_negative_strategy(config.data.negative_sampling_strategy), s.candidates,
                    s.split.train_item_counts(), config.data.negative_sampling_ratio);
  s.shard = features::load_feature_shard(store, comm.rank(), comm.size(), weights);
  if (s.shard.total_items != s.split.num_items())
    throw Error("feature store " + store.string() + " holds " +
                std::to_string(s.shard.total_items) + " items but the split's item_map.csv has " +
                std::to_string(s.split.num_items()) +
                "; the store is from another split: re-run `pixelrec cache`");
  s.inputs = model::content_inputs(config, s.shard);
  s.features = model::make_item_features(s.shard, s.inputs, s.split.item_in_train);
  // The tensors own copies now: release the store's buffers (else each rank holds its shard twice).
  for (auto& block : s.shard.modalities) {
    std::vector<float>().swap(block.values);
    std::vector<uint8_t>().swap(block.present);
  }
  // Every rank knows every positive (cheap: two ints each) so that all derive the same global
  // batches; each trains on the pairs whose item is in its shard.
  s.positive_users = s.split.train.user;
  s.positive_items = s.split.train.item;
  return s;
}

}  // namespace pixelrec::train
