// The multimodal recommender: user/item/tag embedding tables (sparse updates) + the dense
// network, scoring (user, item) pairs against the item features of the store. Cold items (not in
// training) and cold users use a shared unknown row; model.item_id_dropout trains that row.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "features/feature_store.h"
#include "model/embedding_table.h"
#include "model/network.h"
#include "model/pooled_item_rows.h"
#include "model/user_history.h"

namespace pixelrec::model {

// Item features of a contiguous item range as tensors (read once from the store).
struct ItemFeatures {
  int64_t first_item = 0;  // catalogue index of row 0
  int64_t count = 0;
  torch::Tensor tag;       // int64 [count]; tags absent → num_tags (the unknown-tag row)
  torch::Tensor in_train;  // bool [count]
  std::vector<torch::Tensor> values;    // per network content input: float [count, dim]
  std::vector<torch::Tensor> presence;  // per content input: float [count]
  // Per content input: counted from training interactions (numeric with data.numeric_source
  // train_interactions). An item without them (cold, or ID-dropped in training) has none: its
  // presence is 0, not the never-trained-on all-zero counts.
  std::vector<bool> from_interactions;
};

// The content inputs the config enables (image unless model.vision_model is none, text unless
// model.language_model is none, numeric when data.numerical_features_cols is non-empty), checked
// against the store: Error naming the store and the fix when an enabled modality is missing.
std::vector<ContentInput> content_inputs(const Config& config, const features::FeatureShard& shard);
bool uses_tags(const Config& config);

ItemFeatures make_item_features(const features::FeatureShard& shard,
                                const std::vector<ContentInput>& inputs,
                                const std::vector<uint8_t>& item_in_train);
// The same features on `device` (a copy; the input itself when it is already there).
ItemFeatures to_device(const ItemFeatures& features, const torch::Device& device);

struct RecommenderShape {
  int64_t num_users = 0;  // training users; index num_users is the unknown user
  int64_t num_items = 0;  // catalogue; index num_items is the unknown item
  int64_t num_tags = 0;   // vocabulary; index num_tags is "no/unknown tag"
};

// A training batch's random draws, keyed so that they do not depend on how the batch is split
// over ranks: id dropout and content dropout by item (and user), head dropout by the pair's place
// in the global batch (see DropoutKeys).
struct BatchDraws {
  uint64_t seed = 0;
  torch::Tensor pair_positions;  // int64 [B] on the CPU; undefined: torch's generator draws
  double item_id_dropout = 0.0;  // chance that a distinct item uses the unknown-item row
  double user_id_dropout = 0.0;  // chance that a distinct user uses the unknown-user row
  // Training: int64 [B] on the CPU, the training row of the positive each pair belongs to; with
  // model.user_history_training preceding the pair pools that row's earlier items.
  torch::Tensor positive_rows;
};

class Recommender {
 public:
  Recommender(NetworkSpec spec, RecommenderShape shape);

  // Logits [B] for users (int64 [B], cold users >= num_users allowed) and catalogue items
  // (int64 [B], inside `features`). `side_out` receives the batch's distinct-item side (for the
  // contrastive loss). Id dropout (draws) trains the unknown rows that cold items and users use.
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items,
                        const ItemFeatures& features, ItemSide* side_out = nullptr,
                        const BatchDraws& draws = {});

  // Scorer dot: the towers' vectors of each pair ([B, D] each; logits = network()->dot_logits).
  struct PairVectors {
    torch::Tensor users, items;
  };
  PairVectors pair_vectors(const torch::Tensor& users, const torch::Tensor& items,
                           const ItemFeatures& features, ItemSide* side_out = nullptr,
                           const BatchDraws& draws = {});

  // Item side of distinct catalogue items (int64 [U], inside `features`), e.g. for scoring.
  ItemSide item_side(const torch::Tensor& items, const ItemFeatures& features,
                     const BatchDraws& draws = {}, bool content_only = false);
  // The user tower's input [B, D]: the user ID row, plus with model.user_history mean the mean
  // item ID row of the user's history: with model.user_history_training preceding and
  // draws.positive_rows, the items before positive_rows[b], else the latest ones without
  // exclude[b] (the pair's item in training).
  torch::Tensor user_tokens(const torch::Tensor& users, const BatchDraws& draws = {},
                            const torch::Tensor& exclude = {});

  // model.user_history mean: the training histories to pool (set once per run, before scoring).
  // With a sharded item table, the owners of the pooled rows sum them for the network's ranks
  // (pooled_item_rows.h, a collective: every rank calls user_tokens together), unless shared.
  void set_user_history(std::shared_ptr<const UserHistory> history);
  // The run's histories: the split's training interactions (val and test ones are never
  // pooled), model.user_history_length and _decay. No-op without history pooling.
  void use_training_history(const SplitData& split);
  // model.user_history_content: the item features whose content vectors the user tower pools
  // (the run's, or on N ranks the rank's shard). Set before scoring or training.
  void use_item_features(const ItemFeatures& features) { history_features_ = features; }
  bool pools_content() const { return pools_history() && spec_.config.user_history_content; }
  bool pools_history() const { return spec_.config.user_history == "mean"; }
  bool pools_preceding(const BatchDraws& draws) const {
    return pools_history() && spec_.config.user_history_training == "preceding" &&
           draws.positive_rows.defined();
  }
  // Scoring (validation, item-sharded evaluation) calls user_tokens a different number of times
  // on each rank: the rows of every history item, taken once (from the whole table, or when
  // sharded by one rows_from_owners: every rank calls it together), then serve user_tokens
  // without grad and without collectives until drop_history_rows. The item table must not
  // change meanwhile. No-op without history pooling.
  void share_history_rows();
  void drop_history_rows() { shared_items_ = shared_rows_ = torch::Tensor(); }

  // Distributed training keeps only the item rows of the rank's shard: the item table then holds
  // catalogue items [begin, end) followed by the (replicated) unknown-item row. Every item passed
  // to forward/item_side must lie in the shard. gather_items (item_table_shards.h) undoes it.
  void shard_items(int64_t begin, int64_t end);
  bool items_sharded() const { return items_sharded_; }
  int64_t item_rows_begin() const { return item_begin_; }
  int64_t item_rows_end() const { return item_end_; }
  EmbeddingTable& item_table() { return items_; }
  // Puts back a full item table (weight and state tensors in state_tensors() order).
  void unshard_items(std::vector<torch::Tensor> full_state);

  // Moves the network and the tables (with their optimizer state) to `device`; inputs (users,
  // items, features) must then live there too.
  void to(const torch::Device& device);
  const torch::Device& device() const { return device_; }

  Network& network() { return network_; }
  const NetworkSpec& spec() const { return spec_; }
  const RecommenderShape& shape() const { return shape_; }
  std::vector<EmbeddingTable*> tables() { return {&users_, &items_, &tags_}; }
  void train(bool on) { network_->train(on); }

 private:
  NetworkSpec spec_;
  RecommenderShape shape_;
  Network network_{nullptr};
  EmbeddingTable users_, items_, tags_;
  torch::Device device_ = torch::kCPU;
  torch::Tensor history_exclusion(const torch::Tensor& items, const BatchDraws& draws) const;
  std::shared_ptr<const UserHistory> history_;
  dist::TensorCollectives& item_ranks() const;  // the network's ranks, which sharding needs
  // The pooled token [n, D] of each history item (int64 [n]): its ID row, plus its content vector
  // with model.user_history_content. The shared ones (share_history_rows), else the table's, or
  // when sharded exchanged with the ranks (a collective).
  torch::Tensor history_tokens(const torch::Tensor& items, const BatchDraws& draws);
  // The items this process holds, with their content vectors when pooled.
  OwnedItemRows owned_rows(const BatchDraws& draws);
  torch::Tensor content_vectors(const torch::Tensor& items, const BatchDraws& draws);
  ItemFeatures history_features_;
  torch::Tensor shared_items_, shared_rows_;  // share_history_rows: items ascending, their rows
  bool items_sharded_ = false;
  int64_t item_begin_ = 0, item_end_ = 0;  // catalogue items whose rows the item table holds
};

}  // namespace pixelrec::model
