// The JSON sidecar the trainer writes beside every checkpoint X.pt as X.meta.json (format
// "pixelrec-checkpoint-meta", version 1): what the checkpoint holds, readable without LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pixelrec::checkpoints {

namespace fs = std::filesystem;

inline constexpr std::string_view kSidecarFormat = "pixelrec-checkpoint-meta";
inline constexpr int kSidecarVersion = 1;
inline constexpr std::string_view kCheckpointSuffix = ".pt";
inline constexpr std::string_view kSidecarSuffix = ".meta.json";

struct ModelSummary {
  std::string fusion_type;
  int64_t embedding_dim = 0;
  std::string vision_model;    // "none" (or empty): no image modality
  std::string language_model;  // "none" (or empty): no text modality
  bool use_contrastive = false;
  int64_t parameters = 0;
};

struct SidecarMeta {
  std::string file;  // the checkpoint's file name, e.g. "last.pt"
  uint64_t bytes = 0;
  std::string
      content_hash;  // of the checkpoint's bytes (checkpoints/commit.h); empty: not recorded
  std::string kind;  // last | best | epoch
  std::string run_name;
  int64_t epoch = 0;  // epochs completed
  int64_t global_step = 0;
  bool finished = false;
  std::string saved_at;
  std::string config_fingerprint;
  std::string feature_fingerprint;
  ModelSummary model;
  std::string monitored_metric;
  std::optional<double> best_value;  // null before any validation
  std::optional<int64_t> best_epoch;
  std::map<std::string, double> metrics;  // null values (not computed) are left out

  // metrics[monitored_metric] when present.
  std::optional<double> monitored_value() const;
};

// "dir/X.pt" → "dir/X.meta.json".
fs::path sidecar_path_for(const fs::path& checkpoint);
// "dir/X.meta.json" → "dir/X.pt".
fs::path checkpoint_path_for(const fs::path& sidecar);

// Parses and validates sidecar text: the format tag and version, every field with its JSON type,
// kind in {last, best, epoch}, bytes/epoch/global_step >= 0, and run_name usable as a folder
// name. Throws Error describing the first problem (without the path: the caller knows it).
SidecarMeta parse_sidecar(std::string_view text);

// True when `name` can be a run folder directly under the checkpoint dir: non-empty, no '/',
// not hidden, not a name organize reserves (by_model, index.json).
bool is_valid_run_name(std::string_view name);

}  // namespace pixelrec::checkpoints
