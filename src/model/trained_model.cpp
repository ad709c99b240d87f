#include "model/trained_model.h"

#include <spdlog/spdlog.h>

#include "core/errors.h"
#include "features/feature_store.h"

namespace pixelrec::model {
namespace fs = std::filesystem;

fs::path checkpoint_for(const Config& config, const std::string& run_name,
                        const std::string& checkpoint) {
  if (!checkpoint.empty()) return checkpoint;
  if (run_name.empty())
    throw UsageError(
        "the multimodal recommender needs --run-name NAME (a trained run) or "
        "--checkpoint PATH");
  const fs::path dir = fs::path(config.checkpoint_dir) / run_name;
  if (fs::exists(dir / "best.pt")) return dir / "best.pt";
  if (fs::exists(dir / "last.pt")) return dir / "last.pt";
  throw Error("run '" + run_name + "' has no checkpoint in " + dir.string() +
              "; train it first with `pixelrec train --run-name " + run_name + "`");
}

std::unique_ptr<TrainedModel> load_trained_model(const Config& config, const SplitData& split,
                                                 const fs::path& checkpoint, bool final_activation,
                                                 int rank, int world, const torch::Device& device) {
  auto out = std::make_unique<TrainedModel>();
  out->checkpoint = load_checkpoint(checkpoint);
  const CheckpointMeta& meta = out->checkpoint.meta;
  check_scorer(out->checkpoint, config);
  if (meta.user_map_hash != hash_ids(split.user_map.ids()) ||
      meta.item_map_hash != hash_ids(split.item_map.ids()))
    throw Error("checkpoint " + checkpoint.string() +
                " was trained on another split: its id "
                "maps differ from " +
                split.directory.string() + " (point data.split_data_path at the run's split)");
  const fs::path store = config.feature_store_path();
  const auto info = features::read_store_info(store);
  if (!info)
    throw Error("feature store " + store.string() + " does not exist; run `pixelrec cache`");
  if (info->fingerprint != meta.feature_fingerprint)
    spdlog::warn(
        "feature store {} (fingerprint {}) differs from the one the model was trained "
        "on ({}); scores use the current features",
        store.string(), info->fingerprint, meta.feature_fingerprint);
  const features::FeatureShard shard =
      world > 1 ? features::load_feature_shard(store, rank, world,
                                               std::vector<int64_t>(info->num_items, 1))
                : features::load_feature_range(store, {0, info->num_items});
  for (const auto& input : meta.content) {
    const auto* block = shard.modality(input.name);
    if (!block || block->spec.dim != input.dim)
      throw Error("the model expects '" + input.name + "' features of dimension " +
                  std::to_string(input.dim) + " but the store " + store.string() +
                  (block ? " has dimension " + std::to_string(block->spec.dim) : " has none") +
                  "; re-run `pixelrec cache` with the run's config");
  }
  out->features = to_device(make_item_features(shard, meta.content, split.item_in_train), device);
  Recommender& model = *out->checkpoint.model;
  model.to(device);
  model.use_training_history(split);
  model.use_item_features(out->features);
  if (world > 1) {
    // The history rows of other shards, kept from the whole table (and with content pooling the
    // whole catalogue's features, read for this once) before it is sharded.
    if (model.pools_content())
      model.use_item_features(
          to_device(make_item_features(features::load_feature_range(store, {0, info->num_items}),
                                       meta.content, split.item_in_train),
                    device));
    model.share_history_rows();
    model.use_item_features(out->features);
    model.shard_items(int64_t(shard.range.begin), int64_t(shard.range.end));
    out->scorer = std::make_unique<ItemShardScorer>(model, out->features, final_activation);
  } else {
    // Content vectors once, not per scored block.
    if (model.pools_content()) model.share_history_rows();
    out->scorer = std::make_unique<ModelScorer>(model, out->features, final_activation);
  }
  return out;
}

}  // namespace pixelrec::model
