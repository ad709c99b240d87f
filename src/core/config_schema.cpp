#include "core/config_schema.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "core/config_codec.h"
#include "core/config_reference_compat.h"
#include "core/strings.h"

namespace pixelrec {

namespace config_detail {

std::string render(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

void bad_value(const std::string& path, const YAML::Node& node, const std::string& allowed) {
  throw ConfigError("invalid value for " + path + ": '" + render(node) + "'; allowed: " + allowed);
}

std::string shortest_double(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

Check<std::string> one_of(std::vector<std::string> choices) {
  return {"one of: " + join(choices, ", "), [choices](const std::string& v) {
            return std::find(choices.begin(), choices.end(), v) != choices.end();
          }};
}

}  // namespace config_detail

namespace {

using namespace config_detail;

// The key path is the member path: F(int, model.embedding_dim, ...) binds "model.embedding_dim".
#define F(T, member, doc, ...) \
  make_field<T>(               \
      #member, [](Config& c) -> T& { return c.member; }, doc, __VA_ARGS__)
#define OPT(T, member, doc, ...) \
  make_optional_field<T>(        \
      #member, [](Config& c) -> std::optional<T>& { return c.member; }, doc, __VA_ARGS__)

FieldSpec deprecated(FieldSpec f, std::string note) {
  f.deprecation = std::move(note);
  return f;
}

// A secret (the coordinator token): validated like any field, but never written back (resolved
// configs, checkpoint metadata and best_config.yaml dump it empty) and never quoted in an error.
FieldSpec secret(FieldSpec f) {
  f.assign = [assign = f.assign, path = f.path, allowed = f.allowed](Config& c,
                                                                     const YAML::Node& node) {
    try {
      assign(c, node);
    } catch (const ConfigError&) {
      throw ConfigError("invalid value for " + path +
                        " (not shown: it is a secret); allowed: " + allowed);
    }
  };
  f.dump = [](const Config&) { return YAML::Node(std::string()); };
  return f;
}

// Adds `extra` to what the field allows, in the docs and in its error messages.
FieldSpec widen_allowed(FieldSpec f, const std::string& extra) {
  const std::string before = "; allowed: " + f.allowed;
  f.allowed += extra;
  f.assign = [assign = f.assign, before, after = "; allowed: " + f.allowed](
                 Config& c, const YAML::Node& node) {
    try {
      assign(c, node);
    } catch (const ConfigError& e) {
      std::string msg = e.what();
      const auto at = msg.find(before);
      if (at == std::string::npos) throw;
      throw ConfigError(msg.replace(at, before.size(), after));
    }
  };
  return f;
}

// Reference spellings of values (concatenate = concat): replaced by the project's before the
// field's own check, so the resolved config shows what the value means.
FieldSpec with_aliases(FieldSpec f, std::vector<std::pair<std::string, std::string>> aliases) {
  std::vector<std::string> words;
  for (const auto& [reference, project] : aliases) words.push_back(reference + " = " + project);
  f = widen_allowed(std::move(f), " (reference spelling: " + join(words, ", ") + ")");
  f.assign = [assign = f.assign, aliases](Config& c, const YAML::Node& node) {
    if (node.IsScalar())
      for (const auto& [reference, project] : aliases)
        if (node.Scalar() == reference) return assign(c, YAML::Node(project));
    assign(c, node);
  };
  return f;
}

// Names the reference lower-cases before use (activations, init methods): any case loads.
FieldSpec any_case(FieldSpec f) {
  f = widen_allowed(std::move(f), " (any case)");
  f.assign = [assign = f.assign](Config& c, const YAML::Node& node) {
    if (!node.IsScalar()) return assign(c, node);
    std::string lower = node.Scalar();
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return char(std::tolower(ch)); });
    assign(c, YAML::Node(lower));
  };
  return f;
}

// YAML null, which the reference writes for "not set", runs `set` (the documented default).
FieldSpec null_means(FieldSpec f, const std::string& meaning, std::function<void(Config&)> set) {
  f = widen_allowed(std::move(f), ", or null (" + meaning + ")");
  f.assign = [assign = f.assign, set](Config& c, const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) return set(c);
    assign(c, node);
  };
  return f;
}

// A string naming a feature extractor; YAML null means "modality disabled" and is kept as "none".
FieldSpec extractor_field(const char* path, std::string ModelConfig::*member, const char* doc,
                          std::vector<std::string> names) {
  const std::string allowed =
      "builtin, none (or null), import:PATH, or a backbone name (" + join(names, ", ") + ")";
  FieldSpec f;
  f.path = path;
  f.allowed = allowed;
  f.doc = doc;
  f.assign = [=](Config& c, const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) {
      c.model.*member = "none";
      return;
    }
    if (!node.IsScalar()) bad_value(path, node, allowed);
    const std::string v = node.as<std::string>();
    const bool ok = v == "builtin" || v == "none" || starts_with(v, "import:") ||
                    std::find(names.begin(), names.end(), v) != names.end();
    if (!ok) bad_value(path, node, allowed);
    c.model.*member = v;
  };
  f.dump = [member](const Config& c) { return YAML::Node(c.model.*member); };
  return f;
}

FieldSpec search_space_field() {
  FieldSpec f;
  f.path = "hyperparameter_search.search_space";
  f.allowed = "a mapping of parameter name to {type, low, high, log, step, choices, condition}";
  f.doc =
      "Search space; names are config key paths (training.learning_rate; the reference's "
      "learning_rate, the leaf of one model.* or training.* key, loads as that path)";
  f.open_subtree = true;
  f.assign = [allowed = f.allowed](Config& c, const YAML::Node& node) {
    if (node.IsDefined() && !node.IsNull() && !node.IsMap())
      bad_value("hyperparameter_search.search_space", node, allowed);
    c.hyperparameter_search.search_space = canonical_search_space(node);
  };
  f.dump = [](const Config& c) {
    const auto& n = c.hyperparameter_search.search_space;
    if (n.IsDefined() && !n.IsNull() && n.size() > 0) return YAML::Clone(n);
    YAML::Node empty(YAML::NodeType::Map);
    empty.SetStyle(YAML::EmitterStyle::Flow);
    return empty;
  };
  return f;
}

std::vector<FieldSpec> build_fields() {
  const auto activation = one_of({"relu", "gelu", "tanh", "leaky_relu", "silu"});
  const auto pos_int = at_least(1);
  const auto nonneg_int = at_least(0);
  const auto any_str = Check<std::string>{};
  const auto any_bool = Check<bool>{};
  const auto non_empty_str =
      Check<std::string>{"a non-empty string", [](const std::string& s) { return !s.empty(); }};
  const std::string reference_cache =
      "the HDF5 feature store (data.feature_store_path) replaces the reference's in-memory cache";
  return {
      // ---- model ----
      deprecated(F(std::string, model.model_class, "Model family", one_of({"pretrained"})),
                 "there is one model class; the key is kept so reference configs load"),
      extractor_field("model.vision_model", &ModelConfig::vision_model, "Image feature extractor",
                      {"efficientnet-lite0", "resnet", "clip", "dino", "convnext"}),
      extractor_field("model.language_model", &ModelConfig::language_model,
                      "Text feature extractor", {"sentence-bert", "mpnet", "bert", "roberta"}),
      F(std::string, model.backbone_dir, "Folder holding TorchScript backbones and sidecars",
        non_empty_str),
      F(int, model.embedding_dim, "Dimension D of ID embeddings and projections",
        in_range(1, 65536)),
      deprecated(F(bool, model.freeze_vision, "Freeze the vision backbone", any_bool),
                 "backbones always run frozen, once, at cache time"),
      deprecated(F(bool, model.freeze_language, "Freeze the language backbone", any_bool),
                 "backbones always run frozen, once, at cache time"),
      F(bool, model.use_contrastive, "Add the vision-text InfoNCE loss", any_bool),
      F(double, model.contrastive_temperature, "Initial InfoNCE temperature", positive()),
      F(double, model.dropout_rate, "Dropout in projections and the MLP head", in_range(0.0, 0.99)),
      F(int, model.num_attention_heads, "Heads of attention fusion", in_range(1, 64)),
      F(double, model.attention_dropout, "Dropout inside attention fusion", in_range(0.0, 0.99)),
      with_aliases(F(std::string, model.fusion_type, "How modality vectors are fused",
                     one_of({"concat", "gated", "attention"})),
                   {{"concatenate", "concat"}}),
      F(std::vector<int>, model.fusion_hidden_dims, "Hidden layer sizes of the MLP head",
        non_empty(each(in_range(1, 1 << 20)))),
      any_case(F(std::string, model.fusion_activation, "Activation of the MLP head", activation)),
      F(bool, model.use_batch_norm, "BatchNorm in the MLP head", any_bool),
      OPT(int, model.projection_hidden_dim,
          "Hidden size of two-layer projections (null: one linear layer)", in_range(1, 1 << 20)),
      deprecated(
          F(bool, model.use_cross_modal_attention, "Reference 'enhanced' model option", any_bool),
          "the reference's 'enhanced' model is not part of PixelRec-MM; use "
          "model.fusion_type: attention"),
      deprecated(F(double, model.cross_modal_attention_weight, "Reference 'enhanced' model option",
                   in_range(0.0, 1.0)),
                 "the reference's 'enhanced' model is not part of PixelRec-MM; use "
                 "model.fusion_type: attention"),
      F(std::string, model.final_activation, "Applied to reported scores only",
        one_of({"sigmoid", "tanh", "none"})),
      any_case(F(std::string, model.init_method, "Initialisation of embeddings and linear layers",
                 one_of({"xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"}))),
      F(std::string, model.scorer,
        "How a (user, item) pair is scored: mlp (the MLP head over the fused user and item "
        "tokens) or dot (a user tower, the user ID embedding, against an item tower, the fused "
        "item tokens projected to D; full ranking is then one matrix product). "
        "fusion_hidden_dims, use_batch_norm and fusion_activation shape the MLP head only",
        one_of({"mlp", "dot"})),
      F(std::string, model.dot_similarity,
        "Scorer dot: similarity of the two towers, dot (inner product) or cosine",
        one_of({"dot", "cosine"})),
      F(double, model.dot_temperature,
        "Scorer dot: initial temperature t of logits = similarity / t (learned, kept in "
        "[0.01, 100])",
        in_range(0.01, 100.0)),
      F(std::string, model.user_history,
        "Scorer dot: none (the user tower is the user ID embedding) or mean (the ID embedding "
        "plus the mean item ID embedding of the user's last user_history_length training "
        "interactions by timestamp; in training without the positive being predicted; cold "
        "users have none). Under N ranks each rank sums the pooled rows its item shard holds and "
        "the sums are exchanged (docs/distributed.md)",
        one_of({"none", "mean"})),
      F(bool, model.user_id_embedding,
        "Scorer dot with user_history mean: whether the user tower adds the user's own ID "
        "embedding to the pooled history. false: every user's ID part is the shared "
        "unknown-user row, so the history alone tells users apart (as in YouTube DNN): nothing "
        "per user to overfit when users have few interactions, and a user's vector follows "
        "their latest items",
        any_bool),
      F(bool, model.user_history_content,
        "Scorer dot with user_history mean: whether each pooled history item also adds its "
        "content vector, the item tower's output for its content with the unknown-item ID row "
        "(the vector a cold item is scored with). The user vector then meets a cold item's "
        "content directly, a learned content-KNN; costs one item-tower pass per distinct "
        "history item of a batch",
        any_bool),
      F(int, model.user_history_length,
        "Scorer dot with user_history mean: how many of the user's latest distinct training items "
        "are pooled",
        in_range(1, 100000)),
      F(double, model.user_history_decay,
        "Scorer dot with user_history mean: recency weighting of the pool, a weighted mean in "
        "which the k-th latest pooled item (k = 0, 1, ...) weighs decay^k; 1 is the plain mean",
        in_range(0.01, 1.0)),
      F(double, model.user_history_base_weight,
        "Scorer dot with user_history mean: a weight every pooled item gets on top of decay^k, so "
        "that with a decay below 1 the pool still holds the plain mean of the whole pooled "
        "history (the user's long-term taste) next to the recency-weighted latest items; 0: "
        "recency weights alone",
        in_range(0.0, 100.0)),
      F(std::string, model.user_history_training,
        "Scorer dot with user_history mean: what a training pair pools. latest (the user's "
        "latest items, leaving the pair's own item out) or preceding (the user's items before "
        "the training positive the pair belongs to, by timestamp: training then sees the "
        "history as evaluation does, where val/test follow every training item)",
        one_of({"latest", "preceding"})),
      OPT(double, model.item_id_dropout,
          "Probability of replacing an item id by the unknown-item embedding (used by cold "
          "items) in training; null: 0.1 when the split has items training never saw, else 0",
          probability()),
      OPT(double, model.user_id_dropout,
          "Probability of replacing a user id by the unknown-user embedding (used by cold users) "
          "in training; null: 0.1 when the split has users training never saw, else 0",
          probability()),

      // ---- training ----
      F(int, training.batch_size, "Positives per batch (negatives are added per ratio)",
        in_range(1, 1 << 24)),
      F(int, training.epochs, "Maximum epochs", in_range(1, 100000)),
      F(double, training.learning_rate, "Initial learning rate", positive()),
      F(double, training.weight_decay,
        "Weight decay of weight matrices and embedding rows (biases, norm weights and the "
        "temperature are not decayed)",
        at_least(0.0)),
      F(int, training.patience, "Early-stopping patience in epochs", nonneg_int),
      F(double, training.gradient_clip, "Max gradient norm (<= 0 disables)", Check<double>{}),
      F(int, training.num_workers, "Worker threads for data work (0: every core)", nonneg_int),
      F(double, training.contrastive_weight, "Weight of the contrastive loss", at_least(0.0)),
      F(double, training.bce_weight,
        "Weight of the ranking loss (training.loss; the name is the reference's)", at_least(0.0)),
      F(std::string, training.loss,
        "Ranking loss: bce (pointwise, each pair), bpr (-log sigmoid(s_pos - s_neg) over each "
        "positive's sampled negatives) or softmax (sampled softmax with the logQ correction: "
        "scorer dot over the batch's positive items and all its sampled negatives, scorer mlp "
        "over each positive's own negatives)",
        one_of({"bce", "bpr", "softmax"})),
      F(bool, training.use_lr_scheduler, "Use a learning-rate scheduler", any_bool),
      F(std::string, training.lr_scheduler_type, "Scheduler",
        one_of({"reduce_on_plateau", "cosine", "step"})),
      F(int, training.lr_scheduler_patience, "reduce_on_plateau patience (epochs)", nonneg_int),
      F(double, training.lr_scheduler_factor, "LR multiplier on plateau / step",
        in_range(1e-6, 1.0)),
      F(double, training.lr_scheduler_min_lr, "Lower bound of the learning rate", at_least(0.0)),
      F(int, training.lr_scheduler_step_size, "Epochs between step-scheduler decays", pos_int),
      F(int, training.warmup_epochs, "Linear warmup epochs", nonneg_int),
      F(std::string, training.optimizer_type, "Optimizer", one_of({"adam", "adamw", "sgd"})),
      F(double, training.adam_beta1, "Adam beta1", in_range(0.0, 0.999999)),
      F(double, training.adam_beta2, "Adam beta2", in_range(0.0, 0.999999)),
      F(double, training.adam_eps, "Adam epsilon", positive()),
      F(double, training.sgd_momentum, "SGD momentum", in_range(0.0, 0.999999)),
      F(int, training.gradient_accumulation_steps, "Batches per optimizer step", pos_int),
      F(int, training.checkpoint_every_epochs,
        "Also keep checkpoint epoch_<E>.pt every N epochs (0: only last.pt and best.pt)",
        nonneg_int),
      F(bool, training.mixed_precision, "Mixed precision where the device supports it", any_bool),
      F(std::string, training.early_stopping_metric,
        "val_loss or a validation ranking metric such as val_ndcg@10", non_empty_str),
      F(std::string, training.early_stopping_direction, "auto picks by metric name",
        one_of({"auto", "minimize", "maximize"})),
      F(std::string, training.validation_task,
        "Ranking task of the per-epoch val_* metrics (early stopping, scheduler, HPO objective, "
        "baseline studies too): sampled (the positive among evaluation.num_negatives sampled "
        "items) or full (the whole catalogue, training items masked; what full-ranking test "
        "results should be selected on; costly with scorer mlp on large catalogues) or "
        "cold_item (the items training never saw: for an item split, whose val items are all "
        "cold)",
        one_of({"sampled", "full", "cold_item"})),
      F(int, training.seed, "Seed of initialisation, sampling and shuffling", nonneg_int),

      // ---- data: paths ----
      F(std::string, data.item_info_path, "Raw item_info.csv", non_empty_str),
      F(std::string, data.interactions_path, "Raw interactions.csv", non_empty_str),
      F(std::string, data.image_folder, "Raw images folder (<item_id>.<ext>)", non_empty_str),
      F(std::string, data.processed_item_info_path, "Processed item_info.csv", non_empty_str),
      F(std::string, data.processed_interactions_path, "Processed interactions.csv", non_empty_str),
      F(std::string, data.processed_image_destination_folder, "Processed images folder",
        non_empty_str),
      F(std::string, data.scaler_path, "Numeric scaler statistics (JSON)", non_empty_str),
      F(std::string, data.split_data_path, "Folder of the split (train/val/test.csv, id maps)",
        non_empty_str),
      F(std::string, data.train_data_path, "Train split file (empty: <split_data_path>/train.csv)",
        any_str),
      F(std::string, data.val_data_path, "Validation split file (empty: <split_data_path>/val.csv)",
        any_str),
      F(std::string, data.test_data_path, "Test split file (empty: <split_data_path>/test.csv)",
        any_str),
      F(std::string, data.feature_store_path,
        "HDF5 feature store (empty: <cache_config.cache_directory>/features.h5)", any_str),
      OPT(int64_t, data.sample_size, "Interactions sampled before splitting (null: all)",
          at_least<int64_t>(1)),
      deprecated(
          F(double, data.train_val_split, "Reference two-way split ratio", in_range(0.0, 1.0)),
          "splits are three-way; use data.splitting.*_final_ratio"),
      F(bool, data.require_image, "Reject items without a valid image (false: keep, masked)",
        any_bool),
      deprecated(F(bool, data.cache_processed_images, "Reference image cache switch", any_bool),
                 reference_cache),
      F(std::string, data.negative_sampling_strategy, "How training negatives are drawn",
        one_of({"random", "popularity", "popularity_inverse"})),
      F(double, data.negative_sampling_ratio, "Negatives per positive", in_range(0.0, 1000.0)),
      F(std::vector<std::string>, data.numerical_features_cols, "Numeric item columns used",
        Check<std::vector<std::string>>{}),
      F(std::string, data.numerical_normalization_method, "Scaling of numeric features",
        one_of({"standardization", "min_max", "log1p", "log1p_standardization", "none"})),
      F(std::string, data.numeric_source,
        "Where numeric item features come from: catalogue (the columns of "
        "data.numerical_features_cols: lifetime counters that can leak val/test popularity) or "
        "train_interactions (interactions, distinct users and recent share of each item in the "
        "training split only: leak-free)",
        one_of({"catalogue", "train_interactions"})),
      F(std::vector<std::string>, data.categorical_features_cols,
        "Categorical item columns (tag embeddings)", Check<std::vector<std::string>>{}),

      // ---- data: caches (reference names) ----
      deprecated(F(bool, data.cache_config.enabled, "Reference cache switch", any_bool),
                 reference_cache),
      deprecated(F(int, data.cache_config.max_memory_items, "Reference LRU size", nonneg_int),
                 reference_cache),
      F(std::string, data.cache_config.cache_directory, "Folder of the feature store",
        non_empty_str),
      deprecated(F(bool, data.cache_config.use_disk, "Reference cache option", any_bool),
                 reference_cache),
      deprecated(F(std::string, data.image_cache_config.strategy, "Reference image cache",
                   one_of({"hybrid", "memory", "disk", "disabled"})),
                 reference_cache),
      deprecated(
          F(int, data.image_cache_config.max_memory_items, "Reference image cache", nonneg_int),
          reference_cache),
      deprecated(
          F(std::string, data.image_cache_config.cache_directory, "Reference image cache", any_str),
          reference_cache),
      deprecated(
          F(bool, data.image_cache_config.precompute_at_startup, "Reference image cache", any_bool),
          reference_cache),
      deprecated(F(int, data.image_cache_config.preprocessing_batch_size, "Reference image cache",
                   nonneg_int),
                 reference_cache),

      // ---- data: augmentation (no effect: mark_augmentation_without_effect) ----
      F(bool, data.image_augmentation.enabled, "Augment images during training", any_bool),
      F(double, data.image_augmentation.brightness, "Max brightness jitter", in_range(0.0, 1.0)),
      F(double, data.image_augmentation.contrast, "Max contrast jitter", in_range(0.0, 1.0)),
      F(double, data.image_augmentation.saturation, "Max saturation jitter", in_range(0.0, 1.0)),
      F(double, data.image_augmentation.hue, "Max hue shift", in_range(0.0, 0.5)),
      F(bool, data.image_augmentation.random_crop, "Random resized crop", any_bool),
      F(std::vector<double>, data.image_augmentation.crop_scale, "Crop area range [min, max]",
        each(in_range(0.01, 1.0), 2)),
      F(bool, data.image_augmentation.horizontal_flip, "Random horizontal flip", any_bool),
      F(double, data.image_augmentation.rotation_degrees, "Max rotation (degrees)",
        in_range(0.0, 180.0)),
      F(bool, data.image_augmentation.gaussian_blur, "Random Gaussian blur", any_bool),
      F(std::vector<int>, data.image_augmentation.blur_kernel_size, "Blur kernel range [min, max]",
        each(in_range(1, 99), 2)),
      F(bool, data.text_augmentation.enabled, "Augment text during training", any_bool),
      F(std::string, data.text_augmentation.augmentation_type, "Text augmentation",
        one_of({"random_delete", "random_swap", "none"})),
      F(double, data.text_augmentation.delete_prob, "Word deletion probability", probability()),
      F(double, data.text_augmentation.swap_prob, "Adjacent-word swap probability", probability()),

      // ---- data: offline preprocessing ----
      F(bool, data.offline_image_compression.enabled, "Resize/re-encode large images", any_bool),
      F(int, data.offline_image_compression.compress_if_kb_larger_than,
        "Re-encode images larger than this (KB)", nonneg_int),
      F(int, data.offline_image_compression.target_quality, "JPEG quality when re-encoding",
        in_range(1, 100)),
      OPT(std::vector<int>, data.offline_image_compression.resize_if_pixels_larger_than,
          "Resize when width or height exceeds [w, h]", each(in_range(1, 1 << 16), 2)),
      OPT(int, data.offline_image_compression.resize_target_longest_edge,
          "Longest edge after resizing (null: keep size)", in_range(8, 1 << 16)),
      F(bool, data.offline_image_validation.check_corrupted, "Decode every image fully", any_bool),
      F(int, data.offline_image_validation.min_width, "Minimum image width (px)", nonneg_int),
      F(int, data.offline_image_validation.min_height, "Minimum image height (px)", nonneg_int),
      F(std::vector<std::string>, data.offline_image_validation.allowed_extensions,
        "Image extensions tried in order",
        each(Check<std::string>{"a string starting with '.'",
                                [](const std::string& s) { return s.size() > 1 && s[0] == '.'; }})),
      F(bool, data.offline_text_cleaning.remove_html, "Strip HTML tags, decode entities", any_bool),
      F(bool, data.offline_text_cleaning.normalize_unicode, "Unicode NFKC", any_bool),
      F(bool, data.offline_text_cleaning.to_lowercase, "Unicode-aware lowercasing", any_bool),

      // ---- data: splitting ----
      with_aliases(F(std::string, data.splitting.strategy, "Split strategy",
                     one_of({"leave_one_out", "temporal", "user_temporal", "random", "stratified",
                             "stratified_by_column", "stratified_temporal", "user", "item"})),
                   {{"simple_random", "random"}}),
      null_means(F(std::string, data.splitting.stratify_by,
                   "Column for stratified_by_column/temporal", non_empty_str),
                 "no column: stratified_temporal has one stratum",
                 [](Config& c) { c.data.splitting.stratify_by.clear(); }),
      null_means(F(int, data.splitting.tag_grouping_threshold,
                   "Tags on fewer items are grouped into 'other' (0: off)", nonneg_int),
                 "0", [](Config& c) { c.data.splitting.tag_grouping_threshold = 0; }),
      F(int, data.splitting.random_state, "Seed of sampling and random splits", nonneg_int),
      F(double, data.splitting.train_final_ratio, "Train share", in_range(0.0, 1.0)),
      F(double, data.splitting.val_final_ratio, "Validation share", in_range(0.0, 1.0)),
      F(double, data.splitting.test_final_ratio, "Test share", in_range(0.0, 1.0)),
      F(int, data.splitting.min_interactions_per_user, "k-core: minimum per user (0: off)",
        nonneg_int),
      F(int, data.splitting.min_interactions_per_item, "k-core: minimum per item (0: off)",
        nonneg_int),
      F(bool, data.splitting.validate_no_leakage, "Check the split's disjointness invariants",
        any_bool),

      // ---- recommendation ----
      F(int, recommendation.top_k, "Recommendations per user", in_range(1, 100000)),
      F(bool, recommendation.filter_seen, "Never recommend training items", any_bool),
      F(double, recommendation.diversity_weight, "MMR diversity weight", in_range(0.0, 1.0)),
      F(double, recommendation.novelty_weight, "Novelty bonus weight", in_range(0.0, 1.0)),
      F(int, recommendation.max_candidates, "Candidates re-ranked per user", pos_int),

      // ---- hyperparameter search ----
      F(int, hyperparameter_search.n_trials, "Trials in a study", pos_int),
      null_means(F(std::string, hyperparameter_search.study_name, "Study name", non_empty_str),
                 "the default name",
                 [](Config& c) {
                   c.hyperparameter_search.study_name = Config().hyperparameter_search.study_name;
                 }),
      null_means(F(std::string, hyperparameter_search.storage,
                   "sqlite:///FILE (empty: in results_dir)", any_str),
                 "empty", [](Config& c) { c.hyperparameter_search.storage.clear(); }),
      F(std::string, hyperparameter_search.sampler, "Sampler", one_of({"tpe", "random"})),
      F(std::string, hyperparameter_search.pruner, "Pruner", one_of({"asha", "median", "none"})),
      F(std::string, hyperparameter_search.direction, "Optimisation direction",
        one_of({"minimize", "maximize"})),
      F(std::string, hyperparameter_search.optimize_metric, "Validation metric to optimise",
        non_empty_str),
      F(std::string, hyperparameter_search.target,
        "What a trial tunes: model (trains it) or a baseline (fits it and evaluates it on val; "
        "the search space then names only that baseline's evaluation.* keys)",
        one_of({"model", "ease", "ials", "itemknn", "userknn"})),
      F(int, hyperparameter_search.seed, "Sampler seed", nonneg_int),
      F(int, hyperparameter_search.parallel, "Local worker groups (pixelrec hpo)", pos_int),
      F(int, hyperparameter_search.ranks_per_group, "DDP ranks per local worker group",
        in_range(1, 1024)),
      F(int, hyperparameter_search.asha.min_resource, "ASHA: epochs at the first rung", pos_int),
      F(int, hyperparameter_search.asha.max_resource,
        "ASHA: epochs of a full trial (0: training.epochs)", nonneg_int),
      F(int, hyperparameter_search.asha.reduction_factor, "ASHA: reduction factor eta",
        in_range(2, 100)),
      F(int, hyperparameter_search.median.n_startup_trials,
        "Median stopping: completed trials before pruning starts", nonneg_int),
      F(int, hyperparameter_search.median.n_warmup_steps,
        "Median stopping: epochs before a trial can be pruned", nonneg_int),
      F(std::string, hyperparameter_search.coordinator.host, "Coordinator listen address",
        non_empty_str),
      F(int, hyperparameter_search.coordinator.port, "Coordinator TCP port (0: any free port)",
        in_range(0, 65535)),
      secret(
          F(std::string, hyperparameter_search.coordinator.token,
            "Shared token workers must present (empty: generated into the study folder); "
            "never written into resolved configs, checkpoints or logs",
            Check<std::string>{"empty (a token is generated) or at least 16 characters",
                               [](const std::string& s) { return s.empty() || s.size() >= 16; }})),
      F(int, hyperparameter_search.coordinator.lease_seconds,
        "Seconds without a heartbeat before a trial becomes STALE and is requeued", pos_int),
      F(int, hyperparameter_search.coordinator.max_attempts,
        "Times a trial's lease may expire (worker died or hung) before the trial is FAILED",
        in_range(1, 1000)),
      F(int, hyperparameter_search.coordinator.heartbeat_seconds,
        "Seconds between worker heartbeats (less than lease_seconds)", pos_int),
      F(int, hyperparameter_search.coordinator.max_message_bytes,
        "Longest accepted protocol line in bytes", in_range(1024, 1 << 30)),
      F(int, hyperparameter_search.coordinator.idle_timeout_seconds,
        "Seconds of silence after which the coordinator closes a connection", pos_int),
      F(int, hyperparameter_search.coordinator.hello_timeout_seconds,
        "Seconds a new connection may take to send its hello before it is closed", pos_int),
      F(int, hyperparameter_search.coordinator.max_connections,
        "Connections served at once; more are closed right after accept", in_range(1, 65536)),
      F(int, hyperparameter_search.coordinator.stall_timeout_seconds,
        "Worker: seconds without a completed training step (or validation) after which a trial "
        "stops renewing its lease, so the coordinator requeues it (0: never)",
        nonneg_int),
      F(int, hyperparameter_search.coordinator.connect_timeout_seconds,
        "Worker: seconds to keep trying to reach the coordinator, at start and after losing it "
        "(then it exits with status 75)",
        pos_int),
      search_space_field(),

      // ---- features (the HDF5 feature store) ----
      F(std::string, features.dtype, "Storage type of feature datasets",
        one_of({"float32", "float16"})),
      F(int, features.chunk_items, "Items per HDF5 chunk and per resumable extraction part",
        in_range(16, 1 << 20)),
      F(int, features.batch_size, "Items per backbone forward pass", in_range(1, 1 << 16)),
      F(int, features.builtin_image_size, "Square size images are resized to for builtin features",
        in_range(16, 1024)),
      F(int, features.text_dim, "Builtin text: dense dimension after random projection",
        in_range(8, 1 << 14)),
      F(int, features.text_hash_bits, "Builtin text: log2 of hashed word/bigram buckets",
        in_range(10, 24)),
      F(int, features.text_max_length,
        "Backbone text: most WordPiece tokens per item (the backbone sidecar's max_length caps it)",
        in_range(4, 4096)),

      // ---- evaluation ----
      F(std::vector<int>, evaluation.k_values, "Cut-offs K of ranking metrics",
        each(in_range(1, 100000))),
      F(int, evaluation.num_negatives, "Sampled negatives per user (sampled task)", pos_int),
      F(int, evaluation.seed,
        "Seed of evaluation: sampled negatives, the order of tied scores, the random baseline",
        nonneg_int),
      F(int, evaluation.knn_neighbors, "ItemKNN/UserKNN: neighbours kept per item or user",
        pos_int),
      F(double, evaluation.knn_shrinkage, "KNN cosine shrinkage: dot / (|a| |b| + shrinkage)",
        at_least(0.0)),
      F(double, evaluation.ease_lambda,
        "EASE^R baseline: L2 regulariser of the item-item weights (larger for denser data)",
        positive()),
      F(int, evaluation.ease_max_items,
        "EASE^R baseline: largest catalogue it accepts (it holds items^2 floats: 20000 items = "
        "1.6 GB)",
        pos_int),
      F(int, evaluation.ials_factors, "iALS baseline: latent dimension", pos_int),
      F(int, evaluation.ials_iterations, "iALS baseline: alternating least-squares iterations",
        pos_int),
      F(double, evaluation.ials_regularization, "iALS baseline: L2 regulariser of the factors",
        positive()),
      F(double, evaluation.ials_alpha,
        "iALS baseline: confidence weight of observed pairs (confidence = 1 + alpha)",
        at_least(0.0)),

      // ---- distributed ----
      F(std::string, distributed.backend, "Communicator", one_of({"auto", "mpi", "gloo", "nccl"})),
      F(int, distributed.timeout_seconds, "Collective timeout", pos_int),

      // ---- runtime ----
      F(std::string, runtime.log_level, "Log level",
        one_of({"trace", "debug", "info", "warn", "error", "off"})),

      // ---- top level ----
      F(std::string, checkpoint_dir, "Checkpoints: <checkpoint_dir>/<run>/{last,best}.pt",
        non_empty_str),
      F(std::string, results_dir, "Run folders: <results_dir>/<run>/", non_empty_str),
      deprecated(F(std::string, log_dir, "Reference TensorBoard folder", any_str),
                 "TensorBoard files are written to <results_dir>/<run>/tb"),
  };
}

#undef F
#undef OPT

// The reference augments images and texts as its data loader reads them; here training reads the
// feature vectors `pixelrec cache` extracted once with frozen backbones, so a value set for these
// keys is accepted and warned about, never silently ignored.
void mark_augmentation_without_effect(std::vector<FieldSpec>& fields) {
  for (FieldSpec& f : fields)
    if (starts_with(f.path, "data.image_augmentation.") ||
        starts_with(f.path, "data.text_augmentation."))
      f.deprecation =
          "training reads the feature vectors that `pixelrec cache` extracted once with frozen "
          "backbones, so per-step image and text augmentation has nothing to apply to";
}

}  // namespace

const std::vector<FieldSpec>& config_fields() {
  static const std::vector<FieldSpec> fields = [] {
    std::vector<FieldSpec> all = build_fields();
    mark_augmentation_without_effect(all);
    std::vector<FieldSpec> reference = reference_compat_fields(all);
    all.insert(all.end(), reference.begin(), reference.end());
    return all;
  }();
  return fields;
}

const FieldSpec* find_config_field(std::string_view path) {
  for (const auto& f : config_fields())
    if (f.path == path) return &f;
  return nullptr;
}

bool is_config_section(std::string_view path) {
  for (const auto& f : config_fields())
    if (f.path.size() > path.size() && starts_with(f.path, path) && f.path[path.size()] == '.')
      return true;
  return false;
}

std::string suggest_config_key(std::string_view unknown_path) {
  std::vector<std::string> paths;
  for (const auto& f : config_fields())
    if (!f.compat_only) paths.push_back(f.path);  // suggest the project's names
  if (auto best = closest_match(unknown_path, paths)) return *best;
  // A right key in the wrong section ("training.embedding_dim"): match on the last segment.
  const auto dot = unknown_path.rfind('.');
  const std::string_view leaf =
      dot == std::string_view::npos ? unknown_path : unknown_path.substr(dot + 1);
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& p : paths) {
    const auto pd = p.rfind('.');
    const std::string_view pl =
        pd == std::string::npos ? std::string_view(p) : std::string_view(p).substr(pd + 1);
    const size_t d = edit_distance(leaf, pl);
    if (d < best_d) {
      best_d = d;
      best = p;
    }
  }
  return best_d <= std::max<size_t>(2, leaf.size() / 3) ? best : std::string();
}

}  // namespace pixelrec
