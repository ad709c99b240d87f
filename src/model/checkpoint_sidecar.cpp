#include "model/checkpoint_sidecar.h"

#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/config_loader.h"
#include "core/files.h"
#include "core/hash.h"
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

void write_checkpoint_sidecar(const fs::path& checkpoint, const Config& config,
                              const CheckpointSummary& s) {
  nlohmann::ordered_json j;
  j["format"] = "pixelrec-checkpoint-meta";
  j["version"] = 1;
  j["file"] = checkpoint.filename().string();
  j["bytes"] = static_cast<int64_t>(fs::file_size(checkpoint));
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
  write_file_atomic(sidecar_path(checkpoint), j.dump(2) + "\n");
}

}  // namespace pixelrec::model
