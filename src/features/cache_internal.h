// Internals of the cache step shared by its source files: the catalogue as extractors see it,
// and the part files that make extraction resumable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "features/extractor.h"
#include "features/feature_store.h"
#include "features/numeric.h"

namespace pixelrec::features::cache_detail {

// Everything the cache step reads, aligned to item indices of the split's item_map.csv.
struct CacheInputs {
  std::vector<ItemContent> items;     // by item index; missing from catalogue → empty content
  std::vector<uint8_t> in_catalogue;  // 1 when the processed item_info lists the item
  std::vector<int64_t> train_interactions;
  std::vector<int32_t> tag_ids;
  std::vector<std::string> tag_vocab;
  std::vector<double> numeric_raw;  // items × numeric columns (empty when no columns)
  std::vector<std::string> numeric_columns;
  std::string numeric_source;  // data.numeric_source the counters came from
  std::string inputs_hash;     // catalogue, item map, train split, image folder listing
};

// Throws Error naming the missing file and the step that makes it (preprocess / split).
CacheInputs load_cache_inputs(const Config& config, std::optional<int64_t> max_items);

// Items with at least one training interaction (what fit() and the numeric scaler see).
std::vector<ItemContent> training_items(const CacheInputs& inputs);

// One modality's rows for a chunk.
struct PartBlock {
  std::string modality;
  int dim = 0;
  std::vector<float> values;  // count × dim
  std::vector<uint8_t> present;
  uint64_t unusable = 0;
};

struct Part {
  uint32_t begin = 0;
  uint32_t count = 0;
  std::vector<PartBlock> blocks;
};

std::filesystem::path part_path(const std::filesystem::path& parts_dir, size_t chunk);
void write_part(const std::filesystem::path& path, const std::string& fingerprint,
                const Part& part);
// nullopt when the file is missing, truncated, from another fingerprint or otherwise invalid.
std::optional<Part> read_part(const std::filesystem::path& path, const std::string& fingerprint);

}  // namespace pixelrec::features::cache_detail
