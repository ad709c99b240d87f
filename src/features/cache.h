// `pixelrec cache`: extracts every catalogue item's features into the HDF5 feature store.
// Work is cut into chunks of features.chunk_items items; each finished chunk is saved as a part
// file (atomically) so a killed run resumes from the last complete chunk. Under mpirun the ranks
// extract interleaved chunks and rank 0 assembles one store. A store whose fingerprint matches the
// inputs and config is reused as is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "core/config.h"
#include "distributed/communicator.h"

namespace pixelrec::features {

struct CacheOptions {
  bool force_recompute = false;
  std::optional<int64_t> max_items;  // only the first N items of the item map (quick tries)
  bool show_progress = true;
};

struct CacheSummary {
  bool up_to_date = false;  // the existing store matched; nothing was extracted
  std::filesystem::path store_path;
  std::string fingerprint;
  uint32_t items = 0;
  size_t chunks_total = 0;
  size_t chunks_resumed = 0;               // parts found from an interrupted run and reused
  std::map<std::string, size_t> present;   // modality → items with features
  std::map<std::string, size_t> unusable;  // modality → inputs that could not be used
  double seconds = 0;
};

CacheSummary run_cache(const Config& config, dist::Communicator& comm,
                       const CacheOptions& options = {});

}  // namespace pixelrec::features
