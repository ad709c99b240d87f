#include "report/run_inputs.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/strings.h"

namespace pixelrec::report {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string where(const fs::path& path, size_t line) {
  return path.string() + ":" + std::to_string(line);
}

// 1-based line of byte offset `byte` (nlohmann's parse_error::byte is 1-based).
size_t line_of_byte(const std::string& text, size_t byte) {
  const size_t end = std::min(text.size(), byte > 0 ? byte - 1 : 0);
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + end, '\n'));
}

ordered_json parse_json_file(const fs::path& path, const std::string& text) {
  try {
    return ordered_json::parse(text);
  } catch (const ordered_json::parse_error& e) {
    throw Error(where(path, line_of_byte(text, e.byte)) + ": invalid JSON (" + e.what() +
                "); re-create the file with the command that wrote it");
  }
}

double number_or_null(const ordered_json& value, const std::string& what) {
  if (value.is_null()) return kNaN;
  if (!value.is_number()) {
    throw Error(what + " is " + std::string(value.type_name()) + "; expected a number or null");
  }
  return value.get<double>();
}

std::string required_string(const ordered_json& j, const char* key, const fs::path& path) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    throw Error(path.string() + ": \"" + key +
                "\" is missing or not a string; this is not a `pixelrec evaluate` result file");
  }
  return it->get<std::string>();
}

std::string optional_string(const ordered_json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string yaml_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsNull()) return "null";
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// The node at parts[i..] below `node`; recursion avoids yaml-cpp's assignment, which would
// rewrite the referenced node instead of rebinding.
std::optional<YAML::Node> find_key(const YAML::Node& node, const std::vector<std::string>& parts,
                                   size_t i) {
  if (i == parts.size()) return node;
  if (!node.IsMap()) return std::nullopt;
  const YAML::Node child = node[parts[i]];
  if (!child) return std::nullopt;
  return find_key(child, parts, i + 1);
}

}  // namespace

const std::vector<double>* MetricsHistory::column(std::string_view name) const {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return &columns[i];
  }
  return nullptr;
}

MetricsHistory read_metrics_jsonl(const fs::path& path) {
  const std::string text = read_file(path, "metrics file");
  MetricsHistory history;
  size_t start = 0, line = 0;
  while (start < text.size()) {
    ++line;
    const size_t newline = text.find('\n', start);
    const bool last_unterminated = newline == std::string::npos;
    const std::string_view raw(text.data() + start,
                               (last_unterminated ? text.size() : newline) - start);
    start = last_unterminated ? text.size() : newline + 1;
    const std::string_view content = trim(raw);
    if (content.empty()) continue;
    ordered_json row;
    try {
      row = ordered_json::parse(content);
    } catch (const ordered_json::parse_error& e) {
      if (last_unterminated) {  // a crash while appending; the trainer drops it on resume too
        history.note =
            "line " + std::to_string(line) + " is torn (no newline, invalid JSON): dropped";
        break;
      }
      throw Error(where(path, line) + ": invalid JSON (" + e.what() +
                  "); each line must be one JSON object written by `pixelrec train`");
    }
    if (!row.is_object()) {
      throw Error(where(path, line) + ": expected a JSON object {\"epoch\": E, ...}, got " +
                  std::string(row.type_name()));
    }
    const auto epoch_it = row.find("epoch");
    if (epoch_it == row.end() || !epoch_it->is_number_integer()) {
      throw Error(where(path, line) + ": \"epoch\" is missing or not an integer");
    }
    const int64_t epoch = epoch_it->get<int64_t>();
    if (!history.epochs.empty() && epoch <= history.epochs.back()) {
      throw Error(where(path, line) + ": epoch " + std::to_string(epoch) + " follows epoch " +
                  std::to_string(history.epochs.back()) +
                  "; epochs must increase (remove the stale lines or re-run the training)");
    }
    const size_t row_index = history.epochs.size();
    history.epochs.push_back(epoch);
    for (auto& column : history.columns) column.push_back(kNaN);
    for (const auto& [name, value] : row.items()) {
      if (name == "epoch") continue;
      const double number = number_or_null(value, where(path, line) + ": \"" + name + "\"");
      auto it = std::find(history.names.begin(), history.names.end(), name);
      if (it == history.names.end()) {
        history.names.push_back(name);
        history.columns.emplace_back(row_index + 1, kNaN);
        it = history.names.end() - 1;
      }
      history.columns[static_cast<size_t>(it - history.names.begin())][row_index] = number;
    }
  }
  return history;
}

std::optional<double> EvalResultFile::metric(std::string_view name) const {
  for (const auto& [n, v] : metrics) {
    if (n == name) return v;
  }
  return std::nullopt;
}

EvalResultFile read_eval_result(const fs::path& path) {
  const std::string text = read_file(path, "evaluation result");
  const ordered_json j = parse_json_file(path, text);
  if (!j.is_object()) throw Error(path.string() + ": expected a JSON object");
  EvalResultFile r;
  r.path = path;
  r.recommender = required_string(j, "recommender", path);
  r.task = required_string(j, "task", path);
  r.part = optional_string(j, "part");
  r.split = optional_string(j, "split");
  r.config_fingerprint = optional_string(j, "config_fingerprint");
  r.model = optional_string(j, "model");
  r.numeric_source = optional_string(j, "numeric_source");
  if (const auto it = j.find("users_evaluated"); it != j.end()) {
    r.users_evaluated = number_or_null(*it, path.string() + ": \"users_evaluated\"");
  }
  const auto metrics = j.find("metrics");
  if (metrics == j.end() || !metrics->is_object()) {
    throw Error(path.string() + ": \"metrics\" is missing or not an object of numbers");
  }
  for (const auto& [name, value] : metrics->items()) {
    r.metrics.emplace_back(name,
                           number_or_null(value, path.string() + ": metric \"" + name + "\""));
  }
  if (const auto it = j.find("notes"); it != j.end() && it->is_array()) {
    for (const auto& note : *it) {
      if (note.is_string()) r.notes.push_back(note.get<std::string>());
    }
  }
  if (const auto sig = j.find("significance"); sig != j.end()) {
    if (!sig->is_object() || !sig->contains("metrics") || !(*sig)["metrics"].is_object()) {
      throw Error(path.string() +
                  ": \"significance\" must be {\"baseline\": NAME, \"metrics\": {...}}");
    }
    r.baseline = optional_string(*sig, "baseline");
    for (const auto& [name, test] : (*sig)["metrics"].items()) {
      const std::string what = path.string() + ": significance of \"" + name + "\"";
      if (!test.is_object()) throw Error(what + " is not an object");
      PairedSignificance p;
      const std::pair<const char*, double*> fields[] = {
          {"n", &p.n},     {"mean_diff", &p.mean_diff}, {"t", &p.t},
          {"t_p", &p.t_p}, {"wilcoxon", &p.wilcoxon},   {"wilcoxon_p", &p.wilcoxon_p}};
      for (const auto& [key, out] : fields) {
        const auto it = test.find(key);
        *out = it == test.end() ? kNaN : number_or_null(*it, what + " field \"" + key + "\"");
      }
      r.significance.emplace_back(name, p);
    }
  }
  return r;
}

const std::vector<std::string>& summary_config_keys() {
  static const std::vector<std::string> keys = {"model.vision_model",
                                                "model.language_model",
                                                "model.fusion_type",
                                                "model.embedding_dim",
                                                "model.fusion_hidden_dims",
                                                "model.scorer",
                                                "model.dot_similarity",
                                                "model.user_history",
                                                "model.user_history_length",
                                                "model.user_history_decay",
                                                "model.user_history_base_weight",
                                                "model.user_history_training",
                                                "model.user_id_embedding",
                                                "model.user_history_content",
                                                "model.item_id_dropout",
                                                "training.loss",
                                                "training.validation_task",
                                                "training.epochs",
                                                "training.batch_size",
                                                "training.learning_rate",
                                                "training.optimizer_type",
                                                "training.lr_scheduler_type",
                                                "training.early_stopping_metric",
                                                "training.patience",
                                                "training.seed",
                                                "data.splitting.strategy",
                                                "data.split_data_path",
                                                "data.numeric_source",
                                                "evaluation.k_values"};
  return keys;
}

namespace {

// The dot scorer's keys mean nothing under the mlp head, the pooling's without pooling.
bool applies(const std::string& key, const YAML::Node& root) {
  const auto value = [&](const char* path) {
    const auto node = find_key(root, split(path, '.'), 0);
    return node && node->IsScalar() ? node->Scalar() : std::string();
  };
  if (key == "model.dot_similarity" || key == "model.user_history")
    return value("model.scorer") == "dot";
  if (key.rfind("model.user_history_", 0) == 0 || key == "model.user_id_embedding")
    return value("model.scorer") == "dot" && value("model.user_history") == "mean";
  return true;
}

}  // namespace

ConfigSummary read_config_summary(const fs::path& path) {
  const std::string text = read_file(path, "run configuration");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(where(path, static_cast<size_t>(e.mark.line + 1)) + ": invalid YAML (" + e.msg +
                "); config.yaml is written by `pixelrec train`: restore it or re-run the training");
  }
  if (!root.IsMap()) throw Error(path.string() + ": expected a YAML mapping of config sections");
  ConfigSummary summary;
  summary.fingerprint = Hasher().add(text).hex();
  for (const std::string& key : summary_config_keys()) {
    if (!applies(key, root)) continue;
    if (const auto node = find_key(root, split(key, '.'), 0)) {
      summary.key_values.emplace_back(key, yaml_text(*node));
    }
  }
  for (const auto& [key, value] : summary.key_values) {
    if (key == "training.early_stopping_metric") summary.early_stopping_metric = value;
  }
  const YAML::Node training = root["training"];
  summary.early_stopping_direction =
      training && training.IsMap() && training["early_stopping_direction"]
          ? training["early_stopping_direction"].Scalar()
          : "auto";
  return summary;
}

bool lower_is_better(std::string_view name) {
  const std::string lower = to_lower_ascii(name);
  const std::string base = lower.substr(0, lower.find('@'));
  return lower.find("loss") != std::string::npos || base == "gini" || ends_with(base, "_gini");
}

std::optional<size_t> best_row(const MetricsHistory& history, std::string_view metric,
                               bool minimize) {
  const std::vector<double>* column = history.column(metric);
  if (!column) return std::nullopt;
  std::optional<size_t> best;
  for (size_t i = 0; i < column->size(); ++i) {
    const double v = (*column)[i];
    if (std::isnan(v)) continue;
    if (!best || (minimize ? v < (*column)[*best] : v > (*column)[*best])) best = i;
  }
  return best;
}

}  // namespace pixelrec::report
