#include "checkpoints/sidecar.h"

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/strings.h"

namespace pixelrec::checkpoints {
namespace {

using nlohmann::json;

const json& field(const json& object, const char* name, const char* where = "") {
  const auto it = object.find(name);
  if (it == object.end()) throw Error(std::string("missing field '") + where + name + "'");
  return *it;
}

std::string string_field(const json& object, const char* name, const char* where = "") {
  const json& value = field(object, name, where);
  if (!value.is_string())
    throw Error(std::string("field '") + where + name + "' must be a string, got " + value.dump());
  return value.get<std::string>();
}

int64_t integer_field(const json& object, const char* name, const char* where = "") {
  const json& value = field(object, name, where);
  if (!value.is_number_integer() || (!value.is_number_unsigned() && value.get<int64_t>() < 0))
    throw Error(std::string("field '") + where + name + "' must be a non-negative integer, got " +
                value.dump());
  return value.get<int64_t>();
}

bool bool_field(const json& object, const char* name, const char* where = "") {
  const json& value = field(object, name, where);
  if (!value.is_boolean())
    throw Error(std::string("field '") + where + name + "' must be true or false, got " +
                value.dump());
  return value.get<bool>();
}

ModelSummary parse_model(const json& object) {
  const json& model = field(object, "model");
  if (!model.is_object()) throw Error("field 'model' must be an object, got " + model.dump());
  ModelSummary out;
  out.fusion_type = string_field(model, "fusion_type", "model.");
  out.embedding_dim = integer_field(model, "embedding_dim", "model.");
  out.vision_model = string_field(model, "vision_model", "model.");
  out.language_model = string_field(model, "language_model", "model.");
  out.use_contrastive = bool_field(model, "use_contrastive", "model.");
  out.parameters = integer_field(model, "parameters", "model.");
  return out;
}

}  // namespace

std::optional<double> SidecarMeta::monitored_value() const {
  const auto it = metrics.find(monitored_metric);
  if (it == metrics.end()) return std::nullopt;
  return it->second;
}

fs::path sidecar_path_for(const fs::path& checkpoint) {
  std::string name = checkpoint.filename().string();
  if (ends_with(name, kCheckpointSuffix)) name.resize(name.size() - kCheckpointSuffix.size());
  return checkpoint.parent_path() / (name + std::string(kSidecarSuffix));
}

fs::path checkpoint_path_for(const fs::path& sidecar) {
  std::string name = sidecar.filename().string();
  if (ends_with(name, kSidecarSuffix)) name.resize(name.size() - kSidecarSuffix.size());
  return sidecar.parent_path() / (name + std::string(kCheckpointSuffix));
}

bool is_valid_run_name(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos && name.front() != '.' && name != "by_model" &&
         name != "index.json";
}

SidecarMeta parse_sidecar(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(std::string("not valid JSON (") + e.what() + ")");
  }
  if (!doc.is_object()) throw Error("not a JSON object");
  const std::string format = string_field(doc, "format");
  if (format != kSidecarFormat)
    throw Error("format is '" + format + "', expected '" + std::string(kSidecarFormat) + "'");
  const int64_t version = integer_field(doc, "version");
  if (version != kSidecarVersion)
    throw Error("version " + std::to_string(version) + " is not " +
                std::to_string(kSidecarVersion) +
                (version > kSidecarVersion ? " (written by a newer pixelrec: upgrade)" : ""));

  SidecarMeta meta;
  meta.file = string_field(doc, "file");
  meta.bytes = static_cast<uint64_t>(integer_field(doc, "bytes"));
  if (doc.contains("content_hash")) meta.content_hash = string_field(doc, "content_hash");
  meta.kind = string_field(doc, "kind");
  if (meta.kind != "last" && meta.kind != "best" && meta.kind != "epoch")
    throw Error("kind '" + meta.kind + "' is not one of last, best, epoch");
  meta.run_name = string_field(doc, "run_name");
  if (!is_valid_run_name(meta.run_name))
    throw Error("run_name '" + meta.run_name + "' cannot be a folder name");
  meta.epoch = integer_field(doc, "epoch");
  meta.global_step = integer_field(doc, "global_step");
  meta.finished = bool_field(doc, "finished");
  meta.saved_at = string_field(doc, "saved_at");
  meta.config_fingerprint = string_field(doc, "config_fingerprint");
  meta.feature_fingerprint = string_field(doc, "feature_fingerprint");
  meta.model = parse_model(doc);
  meta.monitored_metric = string_field(doc, "monitored_metric");

  const json& best_value = field(doc, "best_value");
  if (best_value.is_number()) {
    meta.best_value = best_value.get<double>();
  } else if (!best_value.is_null()) {
    throw Error("field 'best_value' must be a number or null, got " + best_value.dump());
  }
  if (!field(doc, "best_epoch").is_null()) meta.best_epoch = integer_field(doc, "best_epoch");

  const json& metrics = field(doc, "metrics");
  if (!metrics.is_object()) throw Error("field 'metrics' must be an object, got " + metrics.dump());
  for (const auto& [name, value] : metrics.items()) {
    if (value.is_number()) {
      meta.metrics[name] = value.get<double>();
    } else if (!value.is_null()) {
      throw Error("metric '" + name + "' must be a number or null, got " + value.dump());
    }
  }
  return meta;
}

}  // namespace pixelrec::checkpoints
