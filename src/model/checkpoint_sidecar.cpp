#include "model/checkpoint_sidecar.h"

#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "checkpoints/commit.h"
#include "checkpoints/sidecar.h"
#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/strings.h"
#include "core/temp_files.h"
#include "core/text_formats.h"

namespace pixelrec::model {

namespace fs = std::filesystem;

namespace {

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

fs::path sidecar_path(const fs::path& checkpoint) {
  fs::path p = checkpoint;
  p.replace_extension(".meta.json");
  return p;
}

std::string config_fingerprint(const Config& config) {
  return Hasher().add(config_to_yaml(config)).hex();
}

namespace {

// The sidecar of `checkpoint` whose contents are `bytes` long with hash `hash`.
std::string sidecar_text(const fs::path& checkpoint, uint64_t bytes, const std::string& hash,
                         const Config& config, const CheckpointSummary& s) {
  nlohmann::ordered_json j;
  j["format"] = "pixelrec-checkpoint-meta";
  j["version"] = 1;
  j["file"] = checkpoint.filename().string();
  j["bytes"] = static_cast<int64_t>(bytes);
  j["content_hash"] = hash;
  j["kind"] = s.kind;
  j["run_name"] = s.run_name;
  j["epoch"] = s.epochs_completed;
  j["global_step"] = s.global_step;
  j["finished"] = s.finished;
  j["saved_at"] = utc_now_iso8601();
  j["config_fingerprint"] = config_fingerprint(config);
  j["feature_fingerprint"] = s.feature_fingerprint;
  const ModelConfig& m = config.model;
  j["model"] = {{"fusion_type", m.fusion_type},         {"embedding_dim", m.embedding_dim},
                {"vision_model", m.vision_model},       {"language_model", m.language_model},
                {"use_contrastive", m.use_contrastive}, {"parameters", s.parameters}};
  j["monitored_metric"] = s.monitored_metric;
  j["best_value"] = s.best_epoch >= 0 ? number_or_null(s.best_value) : nlohmann::json(nullptr);
  j["best_epoch"] = s.best_epoch;
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
  for (const auto& [name, value] : s.metrics) metrics[name] = number_or_null(value);
  j["metrics"] = metrics;
  return j.dump(2) + "\n";
}

}  // namespace

void write_checkpoint_sidecar(const fs::path& checkpoint, const Config& config,
                              const CheckpointSummary& s) {
  const std::string bytes = read_file(checkpoint, "checkpoint");
  write_file_atomic(sidecar_path(checkpoint),
                    sidecar_text(checkpoint, bytes.size(),
                                 checkpoints::checkpoint_content_hash(bytes), config, s));
}

const char* checkpoint_kind(const fs::path& checkpoint) {
  const std::string stem = checkpoint.stem().string();
  if (stem == "best") return "best";
  return starts_with(stem, "epoch_") ? "epoch" : "last";
}

std::string sidecar_mismatch(const fs::path& checkpoint, int epoch, int64_t global_step) {
  const fs::path sidecar = sidecar_path(checkpoint);
  std::error_code ec;
  if (!fs::exists(sidecar, ec)) return "the sidecar is missing";
  checkpoints::SidecarMeta meta;
  try {
    meta = checkpoints::parse_sidecar(read_file(sidecar, "checkpoint sidecar"));
  } catch (const Error& e) {
    return std::string("the sidecar is unreadable (") + e.what() + ")";
  }
  if (meta.epoch != epoch || meta.global_step != global_step)
    return "the sidecar records epoch " + std::to_string(meta.epoch) + " step " +
           std::to_string(meta.global_step) + ", the checkpoint holds epoch " +
           std::to_string(epoch) + " step " + std::to_string(global_step);
  if (!meta.content_hash.empty() &&
      meta.content_hash != checkpoints::checkpoint_file_hash(checkpoint))
    return "the sidecar describes other contents (its content_hash differs)";
  return "";
}

void commit_checkpoint(const fs::path& checkpoint, const std::string& bytes, const Config& config,
                       const CheckpointSummary& s) {
  ensure_parent_directory(checkpoint);
  const fs::path pending = checkpoints::pending_sidecar_path_for(checkpoint);
  write_file_atomic(pending, sidecar_text(checkpoint, bytes.size(),
                                          checkpoints::checkpoint_content_hash(bytes), config, s));
  write_file_atomic(checkpoint, bytes);
  sync_and_rename(pending, sidecar_path(checkpoint));
}

}  // namespace pixelrec::model
