#include "model/recommender.h"

#include "core/errors.h"
#include "core/rng.h"
#include "features/numeric_training.h"
#include "model/pooled_item_rows.h"

namespace pixelrec::model {

std::vector<ContentInput> content_inputs(const Config& config,
                                         const features::FeatureShard& shard) {
  std::vector<ContentInput> inputs;
  const auto want = [&](const std::string& name, bool enabled, const std::string& key) {
    if (!enabled) return;
    const auto* block = shard.modality(name);
    if (!block)
      throw Error("the feature store has no '" + name + "' features but " + key +
                  " enables them; re-run `pixelrec cache` with this config (or disable " + key +
                  ")");
    inputs.push_back({name, block->spec.dim});
  };
  want("image", config.model.vision_model != "none", "model.vision_model");
  want("text", config.model.language_model != "none", "model.language_model");
  want("numeric", !config.data.numerical_features_cols.empty(), "data.numerical_features_cols");
  if (const auto* numeric = shard.modality("numeric");
      numeric && !config.data.numerical_features_cols.empty()) {
    const std::string cached = features::numeric_source_of(numeric->spec.extractor_json);
    if (cached != config.data.numeric_source)
      throw Error("the feature store's numeric features come from '" + cached +
                  "' but data.numeric_source is '" + config.data.numeric_source +
                  "'; re-run `pixelrec cache` with this config");
  }
  return inputs;
}

bool uses_tags(const Config& config) {
  const auto& cols = config.data.categorical_features_cols;
  return std::find(cols.begin(), cols.end(), "tag") != cols.end();
}

ItemFeatures make_item_features(const features::FeatureShard& shard,
                                const std::vector<ContentInput>& inputs,
                                const std::vector<uint8_t>& item_in_train) {
  ItemFeatures f;
  f.first_item = shard.range.begin;
  f.count = int64_t(shard.item_ids.size());
  const int64_t num_tags = int64_t(shard.tag_vocab.size());
  f.tag = torch::empty({f.count}, torch::kLong);
  f.in_train = torch::empty({f.count}, torch::kBool);
  auto* tag = f.tag.data_ptr<int64_t>();
  auto* in_train = f.in_train.data_ptr<bool>();
  for (int64_t i = 0; i < f.count; ++i) {
    tag[i] = shard.tag_ids[i] < 0 ? num_tags : shard.tag_ids[i];
    in_train[i] = item_in_train.at(size_t(f.first_item + i)) != 0;
  }
  for (const auto& input : inputs) {
    const auto* block = shard.modality(input.name);
    f.from_interactions.push_back(input.name == "numeric" &&
                                  features::numeric_source_of(block->spec.extractor_json) ==
                                      features::kTrainingNumericSource);
    f.values.push_back(
        torch::from_blob(const_cast<float*>(block->values.data()), {f.count, input.dim}).clone());
    f.presence.push_back(
        torch::from_blob(const_cast<uint8_t*>(block->present.data()), {f.count}, torch::kUInt8)
            .to(torch::kFloat));
  }
  return f;
}

ItemFeatures to_device(const ItemFeatures& features, const torch::Device& device) {
  ItemFeatures f = features;
  f.tag = f.tag.to(device);
  f.in_train = f.in_train.to(device);
  for (auto& v : f.values) v = v.to(device);
  for (auto& p : f.presence) p = p.to(device);
  return f;
}

Recommender::Recommender(NetworkSpec spec, RecommenderShape shape)
    : spec_(std::move(spec)), shape_(shape) {
  const int64_t d = spec_.config.embedding_dim;
  const std::string& init = spec_.config.init_method;
  users_ = EmbeddingTable("user_embedding", shape_.num_users + 1, d, init);
  items_ = EmbeddingTable("item_embedding", shape_.num_items + 1, d, init);
  tags_ = EmbeddingTable("tag_embedding", shape_.num_tags + 1, d, init);
  network_ = Network(spec_);
  item_end_ = shape_.num_items;
}

void Recommender::to(const torch::Device& device) {
  network_->to(device);
  for (auto* table : tables()) table->to(device);
  device_ = device;
}

void Recommender::shard_items(int64_t begin, int64_t end) {
  PIXELREC_CHECK(!items_sharded_, "the item table is already sharded");
  PIXELREC_CHECK(0 <= begin && begin <= end && end <= shape_.num_items, "item shard range");
  const auto index = torch::TensorOptions(torch::kLong).device(device_);
  const torch::Tensor rows = torch::cat(
      {torch::arange(begin, end, index), torch::full({1}, shape_.num_items, index)});  // + unknown
  items_.keep_rows(rows);
  items_sharded_ = true;
  item_begin_ = begin;
  item_end_ = end;
}

void Recommender::unshard_items(std::vector<torch::Tensor> full_state) {
  auto state = items_.state_tensors();
  PIXELREC_CHECK(full_state.size() == state.size(), "item table state count");
  for (size_t i = 0; i < state.size(); ++i) {
    PIXELREC_CHECK(full_state[i].size(0) == shape_.num_items + 1, "full item table rows");
    *state[i].second = std::move(full_state[i]);
  }
  items_sharded_ = false;
  item_begin_ = 0;
  item_end_ = shape_.num_items;
}

namespace {

// Which of `ids` (int64 [n], distinct, any device) drop to the unknown row: bool [n] on the ids'
// device, each decided by (seed, id) alone.
torch::Tensor id_dropped(const torch::Tensor& ids, double p, uint64_t seed) {
  const torch::Tensor cpu = ids.to(torch::kCPU).contiguous();
  torch::Tensor dropped = torch::empty({cpu.size(0)}, torch::kBool);
  const int64_t* id = cpu.data_ptr<int64_t>();
  bool* out = dropped.data_ptr<bool>();
  const uint64_t threshold =
      p >= 1 ? ~uint64_t(0) : uint64_t(p * 18446744073709551616.0);  // p * 2^64
  for (int64_t i = 0; i < cpu.size(0); ++i)
    out[i] = Rng::stream(seed, {uint64_t(id[i])}).next() < threshold;
  return dropped.to(ids.device());
}

bool dropping(double p) { return p > 0 && torch::GradMode::is_enabled(); }

}  // namespace

// Training leaves the pair's item out of its user's pooled history: a positive would otherwise
// find itself in the user vector.
torch::Tensor Recommender::history_exclusion(const torch::Tensor& items,
                                             const BatchDraws& draws) const {
  if (pools_preceding(draws)) return {};  // the items before the positive exclude it
  return pools_history() && network_->is_training() ? items : torch::Tensor();
}

void Recommender::set_user_history(std::shared_ptr<const UserHistory> history) {
  history_ = std::move(history);
}

void Recommender::use_training_history(const SplitData& split) {
  if (!pools_history()) return;
  const ModelConfig& c = spec_.config;
  history_ = std::make_shared<UserHistory>(
      split.train, split.num_train_users(), c.user_history_length, c.user_history_decay,
      c.user_history_base_weight, c.user_history_training == "preceding");
}

void Recommender::share_history_rows() {
  if (!pools_history()) return;
  PIXELREC_CHECK(history_, "model.user_history mean needs set_user_history before scoring");
  torch::NoGradGuard no_grad;
  drop_history_rows();
  // Content vectors are scored ones: without dropout.
  const bool training = network_->is_training();
  network_->train(false);
  const torch::Tensor items = history_->distinct_items().to(device_);
  shared_rows_ = history_tokens(items, {});
  shared_items_ = items;
  network_->train(training);
}

dist::TensorCollectives& Recommender::item_ranks() const {
  dist::TensorCollectives* ranks = network_->ranks();
  PIXELREC_CHECK(ranks, "item-sharded history pooling needs the ranks (Network::set_ranks)");
  return *ranks;
}

OwnedItemRows Recommender::owned_rows(const BatchDraws& draws) {
  OwnedItemRows owned{items_, item_begin_, item_end_, {}};
  if (pools_content())
    owned.added = [this, draws](const torch::Tensor& items) {
      return content_vectors(items, draws);
    };
  return owned;
}

// A cold item is scored with the unknown-item ID row and its content: the same pass here.
torch::Tensor Recommender::content_vectors(const torch::Tensor& items, const BatchDraws& draws) {
  // Set, even when this rank's shard holds no item (tag is then empty, not undefined).
  PIXELREC_CHECK(history_features_.tag.defined(),
                 "model.user_history_content needs use_item_features before scoring");
  const auto [distinct, inverse] = torch::_unique(items, /*sorted=*/true, /*return_inverse=*/true);
  return network_->item_vectors(item_side(distinct, history_features_, draws, true))
      .index_select(0, inverse);
}

torch::Tensor Recommender::history_tokens(const torch::Tensor& items, const BatchDraws& draws) {
  if (shared_items_.defined()) {
    PIXELREC_CHECK(!torch::GradMode::is_enabled(), "shared history rows are for scoring only");
    return shared_rows_.index_select(0, torch::searchsorted(shared_items_, items));
  }
  if (items_sharded_) return rows_from_owners(item_ranks(), owned_rows(draws), items);
  return owned_rows(draws).rows(items);
}

torch::Tensor Recommender::user_tokens(const torch::Tensor& users, const BatchDraws& draws,
                                       const torch::Tensor& exclude) {
  // Cold users (not in training) share the unknown-user row; user-id dropout trains it.
  torch::Tensor rows = users.clamp_max(shape_.num_users);
  if (dropping(draws.user_id_dropout)) {
    const auto [distinct, inverse] = torch::_unique(rows, /*sorted=*/true, /*return_inverse=*/true);
    const uint64_t seed = Rng::stream(draws.seed, {0x55534552ull /* "USER" */}).next();
    const torch::Tensor dropped = id_dropped(distinct, draws.user_id_dropout, seed);
    rows = torch::where(dropped.index_select(0, inverse), torch::full_like(rows, shape_.num_users),
                        rows);
  }
  // model.user_id_embedding false: every user's ID part is the unknown-user row, one shared
  // vector; the pooled history alone tells users apart.
  const torch::Tensor id = users_.lookup(
      spec_.config.user_id_embedding ? rows : torch::full_like(rows, shape_.num_users));
  if (!pools_history()) return id;
  PIXELREC_CHECK(history_, "model.user_history mean needs set_user_history before scoring");
  // Users dropped to the unknown row (as cold users) pool no history either.
  const torch::Tensor cpu_users = users.to(torch::kCPU).contiguous();
  const torch::Tensor no_history = rows.eq(shape_.num_users).to(torch::kCPU).contiguous();
  const torch::Tensor preceding_rows =
      pools_preceding(draws) ? draws.positive_rows.contiguous() : torch::Tensor();
  if (items_sharded_ && !shared_items_.defined()) {
    // Scoring calls differ per rank (a collective would hang): it must share the rows first.
    PIXELREC_CHECK(torch::GradMode::is_enabled(),
                   "item-sharded scoring with history pooling needs share_history_rows first");
    // Every rank gets here, pooling or not: the owners' sums are a collective. A key names what
    // the pair pools: its positive's training row (preceding), else its (user, left-out item);
    // pairs without history (cold or dropped users) need none.
    const torch::Tensor may_pool = no_history.logical_not();
    HistoryKeys keys{torch::Tensor(), shape_.num_items + 1, preceding_rows.defined()};
    if (keys.preceding_rows) {
      keys.keys = preceding_rows;
    } else {
      keys.keys = cpu_users * keys.base;
      if (exclude.defined()) keys.keys = keys.keys + exclude.to(torch::kCPU) + 1;
    }
    keys.keys = keys.keys.masked_select(may_pool);
    const torch::Tensor means =
        history_means_from_owners(item_ranks(), owned_rows(draws), *history_, keys);
    const torch::Tensor at = may_pool.nonzero().squeeze(1).to(device_);
    return id + torch::zeros_like(id).index_put({at}, means);
  }
  const UserHistory::Gathered g =
      preceding_rows.defined()
          ? history_->gather_preceding(cpu_users, no_history, preceding_rows)
          : history_->gather(cpu_users, no_history,
                             exclude.defined() ? exclude.to(torch::kCPU).contiguous() : exclude);
  if (g.items.size(0) == 0) return id;
  const torch::Tensor item_rows =
      history_tokens(g.items.to(device_), draws) * g.weight.to(device_).unsqueeze(1);
  const torch::Tensor sum = torch::zeros_like(id).index_add(0, g.pair.to(device_), item_rows);
  return id + sum / g.count.to(device_).clamp_min(1).unsqueeze(1);
}

ItemSide Recommender::item_side(const torch::Tensor& items, const ItemFeatures& features,
                                const BatchDraws& draws, bool content_only) {
  const torch::Tensor local = items - features.first_item;
  torch::Tensor known = features.in_train.index_select(0, local);
  if (content_only) {
    known = torch::zeros_like(known);  // no ID row to drop: no dropout draws either
  } else if (dropping(draws.item_id_dropout)) {
    const uint64_t seed = Rng::stream(draws.seed, {0x4954454Dull /* "ITEM" */}).next();
    known = known.logical_and(id_dropped(items, draws.item_id_dropout, seed).logical_not());
  }
  // Table rows: item - item_begin_ for the shard's items, the last row for unknown ones.
  const torch::Tensor id_rows =
      torch::where(known, items - item_begin_, torch::full_like(items, item_end_ - item_begin_));
  const torch::Tensor item_emb = items_.lookup(id_rows);
  torch::Tensor tag_emb;
  if (spec_.use_tags) tag_emb = tags_.lookup(features.tag.index_select(0, local));
  std::vector<torch::Tensor> values, presence;
  for (size_t k = 0; k < features.values.size(); ++k) {
    values.push_back(features.values[k].index_select(0, local));
    presence.push_back(features.presence[k].index_select(0, local));
    if (k < features.from_interactions.size() && features.from_interactions[k])
      presence.back() = presence.back() * known.to(presence.back().scalar_type());
  }
  DropoutKeys item_keys;
  if (draws.pair_positions.defined()) item_keys = {draws.seed, items.to(torch::kCPU)};
  return network_->item_side(item_emb, tag_emb, values, presence, item_keys);
}

torch::Tensor Recommender::forward(const torch::Tensor& users, const torch::Tensor& items,
                                   const ItemFeatures& features, ItemSide* side_out,
                                   const BatchDraws& draws) {
  const auto [distinct, inverse] = torch::_unique(items, /*sorted=*/true, /*return_inverse=*/true);
  ItemSide side = item_side(distinct, features, draws);
  DropoutKeys pair_keys;
  if (draws.pair_positions.defined()) pair_keys = {draws.seed, draws.pair_positions};
  torch::Tensor logits = network_->logits(
      user_tokens(users, draws, history_exclusion(items, draws)), side, inverse, pair_keys);
  if (side_out) *side_out = std::move(side);
  return logits;
}

Recommender::PairVectors Recommender::pair_vectors(const torch::Tensor& users,
                                                   const torch::Tensor& items,
                                                   const ItemFeatures& features, ItemSide* side_out,
                                                   const BatchDraws& draws) {
  PIXELREC_CHECK(network_->dot(), "pair vectors need model.scorer dot");
  const auto [distinct, inverse] = torch::_unique(items, /*sorted=*/true, /*return_inverse=*/true);
  ItemSide side = item_side(distinct, features, draws);
  PairVectors out{
      network_->user_vectors(user_tokens(users, draws, history_exclusion(items, draws))),
      network_->item_vectors(side).index_select(0, inverse)};
  if (side_out) *side_out = std::move(side);
  return out;
}

}  // namespace pixelrec::model
