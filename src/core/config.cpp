#include "core/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "core/errors.h"

namespace pixelrec {

namespace {
std::string in_split_dir(const std::string& explicit_path, const std::string& dir,
                         const char* file) {
  if (!explicit_path.empty()) return explicit_path;
  return (std::filesystem::path(dir) / file).string();
}
}  // namespace

std::string Config::train_path() const {
  return in_split_dir(data.train_data_path, data.split_data_path, "train.csv");
}
std::string Config::val_path() const {
  return in_split_dir(data.val_data_path, data.split_data_path, "val.csv");
}
std::string Config::test_path() const {
  return in_split_dir(data.test_data_path, data.split_data_path, "test.csv");
}
std::string Config::feature_store_path() const {
  return in_split_dir(data.feature_store_path, data.cache_config.cache_directory, "features.h5");
}

int Config::thread_count() const {
  if (training.num_workers > 0) return training.num_workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

const std::vector<std::string>& baseline_tuning_keys(const std::string& target) {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"ease", {"evaluation.ease_lambda"}},
      {"ials",
       {"evaluation.ials_factors", "evaluation.ials_iterations", "evaluation.ials_regularization",
        "evaluation.ials_alpha"}},
      {"itemknn", {"evaluation.knn_neighbors", "evaluation.knn_shrinkage"}},
      {"userknn", {"evaluation.knn_neighbors", "evaluation.knn_shrinkage"}},
  };
  static const std::vector<std::string> none;
  const auto it = keys.find(target);
  return it == keys.end() ? none : it->second;
}

namespace {

// A baseline study tunes only that baseline: any other parameter would be parsed and ignored.
void validate_baseline_study(const HyperparameterSearchConfig& hpo) {
  const std::vector<std::string>& allowed = baseline_tuning_keys(hpo.target);
  std::string listed;
  for (const auto& key : allowed) listed += (listed.empty() ? "" : ", ") + key;
  if (hpo.search_space.IsMap())
    for (const auto& entry : hpo.search_space) {
      const std::string name = entry.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
        throw ConfigError("hyperparameter_search.search_space: parameter '" + name +
                          "' does not change the '" + hpo.target +
                          "' baseline (hyperparameter_search.target); tune " + listed +
                          ", or set target: model to tune the model");
    }
  if (hpo.optimize_metric == "val_loss")
    throw ConfigError("hyperparameter_search.optimize_metric 'val_loss' is a training loss; the '" +
                      hpo.target + "' baseline reports ranking metrics only: use e.g. val_ndcg@10");
}

}  // namespace

void validate_config(const Config& config) {
  const auto& s = config.data.splitting;
  const double sum = s.train_final_ratio + s.val_final_ratio + s.test_final_ratio;
  if (std::fabs(sum - 1.0) > 1e-6) {
    std::ostringstream msg;
    msg << "data.splitting.train_final_ratio + val_final_ratio + test_final_ratio must sum to 1, "
           "got "
        << s.train_final_ratio << " + " << s.val_final_ratio << " + " << s.test_final_ratio << " = "
        << sum << " (adjust the three ratios)";
    throw ConfigError(msg.str());
  }
  if (config.model.fusion_type == "attention" &&
      config.model.embedding_dim % config.model.num_attention_heads != 0) {
    throw ConfigError("model.embedding_dim (" + std::to_string(config.model.embedding_dim) +
                      ") must be divisible by model.num_attention_heads (" +
                      std::to_string(config.model.num_attention_heads) +
                      ") for attention fusion (change either key)");
  }
  const std::string& loss = config.training.loss;
  if (config.data.negative_sampling_ratio <= 0 &&
      (loss == "bpr" || (loss == "softmax" && config.model.scorer == "mlp")))
    throw ConfigError("training.loss: " + loss + " with model.scorer: " + config.model.scorer +
                      " compares each positive with its sampled negatives, but "
                      "data.negative_sampling_ratio is 0; set it to 1 or more");
  const auto& hpo = config.hyperparameter_search;
  if (hpo.coordinator.heartbeat_seconds >= hpo.coordinator.lease_seconds) {
    throw ConfigError("hyperparameter_search.coordinator.heartbeat_seconds (" +
                      std::to_string(hpo.coordinator.heartbeat_seconds) +
                      ") must be less than lease_seconds (" +
                      std::to_string(hpo.coordinator.lease_seconds) +
                      "), else every trial expires between heartbeats");
  }
  if (hpo.target != "model") validate_baseline_study(hpo);
  if (hpo.asha.max_resource != 0 && hpo.asha.max_resource < hpo.asha.min_resource) {
    throw ConfigError("hyperparameter_search.asha.max_resource (" +
                      std::to_string(hpo.asha.max_resource) + ") is below asha.min_resource (" +
                      std::to_string(hpo.asha.min_resource) +
                      "); raise max_resource or set it to 0 (training.epochs)");
  }
}

}  // namespace pixelrec
