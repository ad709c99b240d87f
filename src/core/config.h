// Typed configuration: every YAML key the reference framework knows, plus this project's own
// sections (runtime, evaluation, distributed). Parsed once (config_loader.h), validated with key
// paths, and passed down as plain structs; nothing deeper looks keys up by string.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pixelrec {

struct ModelConfig {
  std::string model_class = "pretrained";
  std::string vision_model = "builtin";  // builtin | efficientnet-lite0 | resnet | clip | dino |
                                         // convnext | import:PATH | none
  std::string language_model =
      "builtin";  // builtin | sentence-bert | mpnet | bert | roberta | import:PATH | none
  std::string backbone_dir = "models/backbones";
  int embedding_dim = 64;
  bool freeze_vision = true;
  bool freeze_language = true;
  bool use_contrastive = true;
  double contrastive_temperature = 0.07;
  double dropout_rate = 0.3;
  int num_attention_heads = 4;
  double attention_dropout = 0.1;
  std::string fusion_type = "concat";  // concat | gated | attention
  std::vector<int> fusion_hidden_dims = {512, 256, 128};
  std::string fusion_activation = "relu";
  bool use_batch_norm = true;
  std::optional<int> projection_hidden_dim;
  bool use_cross_modal_attention = false;     // reference "enhanced" model only: deprecated
  double cross_modal_attention_weight = 0.5;  // reference "enhanced" model only: deprecated
  std::string final_activation = "sigmoid";
  std::string init_method = "xavier_uniform";
  // How a (user, item) pair is scored: the MLP head over the fused tokens, or the dot product of
  // a user tower and an item tower (model/network_dot.cpp).
  std::string scorer = "mlp";             // mlp | dot
  std::string dot_similarity = "cosine";  // dot | cosine (scorer dot)
  double dot_temperature = 0.1;           // initial, learnable: logits = similarity / temperature
  // Scorer dot: the user tower adds the mean item ID embedding of the user's last training
  // interactions (model/user_history.h).
  std::string user_history = "none";  // none | mean
  // false: the user tower leaves out the user's own ID row (the shared unknown-user row instead).
  bool user_id_embedding = true;
  // true: each pooled history item also adds its content vector (the item tower on its content
  // with the unknown-item ID row, as a cold item is scored).
  bool user_history_content = false;
  int user_history_length = 50;
  double user_history_decay = 1.0;  // the k-th latest pooled item weighs decay^k (1: plain mean)
  double user_history_base_weight = 0.0;  // ... plus this: the long-term share of the pool
  // What a training pair pools: latest (the user's latest items but the pair's own) | preceding
  // (the items before the positive the pair belongs to, as val/test follow the training items).
  std::string user_history_training = "latest";
  // Chance that training replaces an id by the unknown row cold ids are scored with; unset: the
  // trainer picks (model/cold_rows.h).
  std::optional<double> item_id_dropout;
  std::optional<double> user_id_dropout;
};

struct TrainingConfig {
  int batch_size = 256;
  int epochs = 20;
  double learning_rate = 0.001;
  double weight_decay = 0.01;
  int patience = 5;
  double gradient_clip = 1.0;  // <= 0 disables clipping
  int num_workers = 0;         // worker threads for data work (images, features); 0 = every core
  double contrastive_weight = 0.1;
  double bce_weight = 1.0;   // weight of the ranking loss, whichever training.loss is
  std::string loss = "bce";  // bce | bpr | softmax (model/ranking_losses.h)
  bool use_lr_scheduler = true;
  std::string lr_scheduler_type = "reduce_on_plateau";
  int lr_scheduler_patience = 2;
  double lr_scheduler_factor = 0.5;
  double lr_scheduler_min_lr = 1e-6;
  int lr_scheduler_step_size = 5;
  int warmup_epochs = 0;
  std::string optimizer_type = "adamw";
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  double sgd_momentum = 0.9;
  int gradient_accumulation_steps = 1;
  int checkpoint_every_epochs = 0;  // also keep epoch_<E>.pt every N epochs (0: only last, best)
  bool mixed_precision = false;
  std::string early_stopping_metric = "val_loss";
  std::string early_stopping_direction = "auto";  // auto | minimize | maximize
  std::string validation_task = "sampled";        // sampled | full | cold_item (model/validation.h)
  int seed = 42;
};

struct TextAugmentationConfig {
  bool enabled = false;
  std::string augmentation_type = "random_delete";  // random_delete | random_swap | none
  double delete_prob = 0.1;
  double swap_prob = 0.1;
};

struct ImageAugmentationConfig {
  bool enabled = false;
  double brightness = 0.2;
  double contrast = 0.2;
  double saturation = 0.2;
  double hue = 0.05;
  bool random_crop = false;
  std::vector<double> crop_scale = {0.8, 1.0};
  bool horizontal_flip = false;
  double rotation_degrees = 0.0;
  bool gaussian_blur = false;
  std::vector<int> blur_kernel_size = {5, 9};
};

struct ImageCompressionConfig {
  bool enabled = true;
  int compress_if_kb_larger_than = 500;
  int target_quality = 85;
  std::optional<std::vector<int>> resize_if_pixels_larger_than = std::vector<int>{2048, 2048};
  std::optional<int> resize_target_longest_edge = 1024;
};

struct ImageValidationConfig {
  bool check_corrupted = true;
  int min_width = 64;
  int min_height = 64;
  std::vector<std::string> allowed_extensions = {".jpg", ".jpeg", ".png"};
};

struct TextCleaningConfig {
  bool remove_html = true;
  bool normalize_unicode = true;
  bool to_lowercase = true;
};

struct CacheConfig {
  bool enabled = true;
  int max_memory_items = 1000;
  std::string cache_directory = "data/cache";
  bool use_disk = true;
};

struct ImageCacheConfig {  // reference-only; superseded by the feature store
  std::string strategy = "hybrid";
  int max_memory_items = 1500;
  std::string cache_directory = "data/cache/image_tensors";
  bool precompute_at_startup = false;
  int preprocessing_batch_size = 50;
};

struct SplittingConfig {
  std::string strategy = "leave_one_out";
  std::string stratify_by = "tag";
  int tag_grouping_threshold = 0;  // tags on fewer items are grouped as "other"; 0 disables
  int random_state = 42;
  double train_final_ratio = 0.8;
  double val_final_ratio = 0.1;
  double test_final_ratio = 0.1;
  int min_interactions_per_user = 0;  // k-core activity filter applied by preprocess
  int min_interactions_per_item = 0;
  bool validate_no_leakage = true;
};

struct DataConfig {
  std::string item_info_path = "data/raw/item_info.csv";
  std::string interactions_path = "data/raw/interactions.csv";
  std::string image_folder = "data/raw/images";
  std::string processed_item_info_path = "data/processed/item_info.csv";
  std::string processed_interactions_path = "data/processed/interactions.csv";
  std::string processed_image_destination_folder = "data/processed/images";
  std::string scaler_path = "data/processed/numerical_scaler.json";
  std::string split_data_path = "data/splits/default";
  std::string train_data_path;  // empty: <split_data_path>/train.csv
  std::string val_data_path;
  std::string test_data_path;
  std::string feature_store_path;  // empty: <cache_config.cache_directory>/features.h5
  std::optional<int64_t> sample_size;
  double train_val_split = 0.8;  // reference-only; deprecated by splitting.*_final_ratio
  bool require_image = true;
  bool cache_processed_images = false;                // reference-only; deprecated
  std::string negative_sampling_strategy = "random";  // random | popularity | popularity_inverse
  double negative_sampling_ratio = 1.0;
  std::vector<std::string> numerical_features_cols = {
      "view_number", "comment_number",  "thumbup_number", "share_number",
      "coin_number", "favorite_number", "barrage_number"};
  std::string numerical_normalization_method = "log1p_standardization";
  std::string numeric_source = "catalogue";  // catalogue | train_interactions (leak-free)
  std::vector<std::string> categorical_features_cols = {"tag"};
  CacheConfig cache_config;
  ImageCacheConfig image_cache_config;
  ImageAugmentationConfig image_augmentation;
  TextAugmentationConfig text_augmentation;
  ImageCompressionConfig offline_image_compression;
  ImageValidationConfig offline_image_validation;
  TextCleaningConfig offline_text_cleaning;
  SplittingConfig splitting;
};

struct RecommendationConfig {
  int top_k = 10;
  bool filter_seen = true;
  double diversity_weight = 0.3;
  double novelty_weight = 0.2;
  int max_candidates = 1000;
};

struct AshaConfig {
  int min_resource = 1;      // epochs at the first rung
  int max_resource = 0;      // epochs of a full trial; 0: training.epochs
  int reduction_factor = 3;  // eta: a trial continues past a rung if it is in the top 1/eta there
};

struct MedianStoppingConfig {
  int n_startup_trials = 5;  // no pruning until this many trials have completed
  int n_warmup_steps = 0;    // no pruning before this epoch
};

// The coordinator of a distributed study (pixelrec hpo coordinator / worker).
struct CoordinatorConfig {
  std::string host = "127.0.0.1";  // address the coordinator listens on
  int port = 0;                    // 0: any free port (written to <study>/coordinator.json)
  std::string token;           // shared secret; empty: generated and written to the study folder
  int lease_seconds = 60;      // a trial whose worker is silent this long becomes STALE
  int max_attempts = 3;        // a trial whose lease expired this often is FAILED
  int heartbeat_seconds = 10;  // how often workers renew their lease
  int max_message_bytes = 1 << 20;  // longer protocol lines are rejected
  int idle_timeout_seconds = 120;   // a connection silent this long is closed
  int hello_timeout_seconds = 10;   // ... and this long before its hello (unauthenticated)
  int max_connections = 1024;       // more at once are closed right after accept
  // Worker side: a trial with no training step for this long stops renewing its lease (0: never).
  int stall_timeout_seconds = 1800;
  // Worker side: how long to keep trying to reach the coordinator, at start and after losing it.
  int connect_timeout_seconds = 60;
};

struct HyperparameterSearchConfig {
  int n_trials = 20;
  int seed = 42;  // sampler seed: the same seed and results give the same suggestions
  std::string study_name = "pixelrec_study";
  std::string storage;  // empty: sqlite:///<results_dir>/hpo/<study_name>/study.db
  std::string sampler = "tpe";
  std::string pruner = "asha";
  std::string direction = "maximize";
  std::string optimize_metric = "val_ndcg@10";
  std::string target = "model";  // model | ease | ials | itemknn | userknn: what a trial tunes
  int parallel = 1;              // local worker groups (pixelrec hpo)
  int ranks_per_group = 1;       // processes (DDP ranks) per local worker group
  AshaConfig asha;
  MedianStoppingConfig median;
  CoordinatorConfig coordinator;
  YAML::Node
      search_space;  // free-form: parameter → {type, low, high, log, step, choices, condition}
};

struct EvaluationConfig {
  std::vector<int> k_values = {5, 10, 20};
  int num_negatives = 100;
  int seed = 42;
  int knn_neighbors = 50;       // ItemKNN/UserKNN: neighbours kept per item/user
  double knn_shrinkage = 10.0;  // cosine shrinkage: dot / (|a||b| + shrinkage)
  double ease_lambda = 500.0;   // EASE^R: L2 regulariser on the item-item weights
  int ease_max_items = 20000;   // EASE^R: largest catalogue (dense items^2 floats)
  int ials_factors = 64;        // iALS: latent dimension
  int ials_iterations = 15;     // iALS: alternating (user, item) solves
  double ials_regularization = 0.1;
  double ials_alpha = 10.0;  // iALS: confidence of an observed pair is 1 + alpha
};

struct DistributedConfig {
  std::string backend = "auto";  // auto | mpi | gloo | nccl
  int timeout_seconds = 300;
};

struct FeaturesConfig {
  std::string dtype = "float32";  // float32 | float16: storage type of feature datasets
  int chunk_items = 1024;         // items per HDF5 chunk and per resumable extraction part
  int batch_size = 64;            // items per backbone forward pass
  int builtin_image_size = 64;    // builtin image features are computed on this square resize
  int text_dim = 256;             // builtin text: dense dimension after random projection
  int text_hash_bits = 18;        // builtin text: 2^bits hashed word/bigram buckets
  int text_max_length = 512;      // backbone text: at most this many WordPiece tokens per item
                                  // ([CLS]/[SEP] included; the sidecar's max_length caps it)
};

struct RuntimeConfig {
  std::string log_level = "info";
};

struct Config {
  ModelConfig model;
  TrainingConfig training;
  DataConfig data;
  RecommendationConfig recommendation;
  HyperparameterSearchConfig hyperparameter_search;
  FeaturesConfig features;
  EvaluationConfig evaluation;
  DistributedConfig distributed;
  RuntimeConfig runtime;
  std::string checkpoint_dir = "models/checkpoints";
  std::string results_dir = "results";
  std::string log_dir = "logs";

  // Paths with their documented defaults filled in.
  std::string train_path() const;
  std::string val_path() const;
  std::string test_path() const;
  std::string feature_store_path() const;
  // Threads for parallel data work: training.num_workers, or every core when it is 0.
  int thread_count() const;
};

// The evaluation.* keys a baseline study (hyperparameter_search.target) may tune; empty for
// "model" and for unknown names.
const std::vector<std::string>& baseline_tuning_keys(const std::string& target);

// Cross-key checks (ratios sum to 1, a baseline study's parameters, ...). Throws ConfigError
// naming the keys.
void validate_config(const Config& config);

}  // namespace pixelrec
