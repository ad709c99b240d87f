// The HDF5 feature store (SPEC §5): per-item vectors of each modality for the whole catalogue,
// in item-index order (the split's item_map.csv), with presence masks, tag indices, training
// interaction counts, and a fingerprint of everything that affects the values.
//
// Layout of features.h5:
//   attributes  format="pixelrec-feature-store", format_version, fingerprint, dtype,
//               num_items, chunk_items, extractors (JSON: modality → extractor description),
//               created_by
//   /item_ids            string [N]
//   /tag_ids             int32 [N]   index into /tag_vocab, -1 when the item has no tag
//   /tag_vocab           string [T]
//   /train_interactions  int64 [N]   interactions of the item in the training split
//   /features/<m>        float32 or float16 [N, D_m]  for m in image, text, numeric (if enabled)
//   /presence/<m>        uint8 [N]   1: the row holds features; 0: missing input, row is zeros
// Feature datasets are chunked along items; the file is written to a temp name and renamed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "features/shard_plan.h"

namespace pixelrec::features {

struct ModalitySpec {
  std::string name;  // "image", "text", "numeric"
  int dim = 0;
  std::string extractor_json;  // the extractor's describe()
};

struct StoreHeader {
  std::string fingerprint;
  std::string dtype = "float32";  // float32 | float16
  uint32_t chunk_items = 1024;
  std::vector<std::string> item_ids;
  std::vector<int32_t> tag_ids;
  std::vector<std::string> tag_vocab;
  std::vector<int64_t> train_interactions;
  std::vector<ModalitySpec> modalities;
};

// Streams rows into a temp file beside `path`; commit() renames it into place. Destroying an
// uncommitted writer removes the temp file, so `path` only ever holds a complete store.
class FeatureStoreWriter {
 public:
  FeatureStoreWriter(const std::filesystem::path& path, const StoreHeader& header);
  ~FeatureStoreWriter();
  FeatureStoreWriter(const FeatureStoreWriter&) = delete;
  FeatureStoreWriter& operator=(const FeatureStoreWriter&) = delete;

  // Rows [begin, begin + count) of one modality: count × dim floats and count presence flags.
  void write_rows(const std::string& modality, uint32_t begin, uint32_t count, const float* values,
                  const uint8_t* present);
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a store holds, without the feature rows.
struct StoreInfo {
  std::string fingerprint;
  std::string dtype;
  uint32_t num_items = 0;
  uint32_t chunk_items = 0;
  std::vector<ModalitySpec> modalities;
  std::vector<int64_t> train_interactions;  // all items (small; needed for shard plans)
};

// nullopt when the file does not exist; Error when it exists but is not a readable store.
std::optional<StoreInfo> read_store_info(const std::filesystem::path& path);

// The rows of one item range, read once into memory (one hyperslab per dataset).
struct FeatureShard {
  ItemRange range;
  uint32_t total_items = 0;
  std::string fingerprint;
  std::vector<std::string> item_ids;        // of the range
  std::vector<int32_t> tag_ids;             // of the range
  std::vector<std::string> tag_vocab;       // whole vocabulary
  std::vector<int64_t> train_interactions;  // of the range
  struct Block {
    ModalitySpec spec;
    std::vector<float> values;  // range.size() × spec.dim
    std::vector<uint8_t> present;
  };
  std::vector<Block> modalities;
  const Block* modality(const std::string& name) const;
};

FeatureShard load_feature_range(const std::filesystem::path& path, ItemRange range);

// The shard of `rank` among `world` ranks under make_shard_plan(train_interactions, world).
FeatureShard load_feature_shard(const std::filesystem::path& path, int rank, int world);
// The same under make_shard_plan(weights, world): one weight per item of the store (the trainer
// passes shard_weights, the expected training pairs of each item).
FeatureShard load_feature_shard(const std::filesystem::path& path, int rank, int world,
                                const std::vector<int64_t>& weights);

}  // namespace pixelrec::features
