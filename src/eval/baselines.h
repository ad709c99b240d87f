// Non-learned recommenders the multimodal model is compared against (SPEC §9): random, training
// popularity, ItemKNN and UserKNN (shrunk cosine, exactly k neighbours) and content KNN (scores
// cold items too). Each is a Scorer fitted on training interactions only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/split_data.h"
#include "eval/content_vectors.h"
#include "eval/scorer.h"

namespace pixelrec::eval {

// iALS settings (evaluation.ials_*).
struct IalsOptions {
  int factors = 64;
  int iterations = 15;
  double regularization = 0.1;
  double alpha = 10.0;  // confidence of an observed pair: 1 + alpha
};

// What the baselines are built from. The pointed-to objects must outlive the scorers.
struct BaselineInputs {
  const SplitData* split = nullptr;
  const UserItemIndex* train = nullptr;     // users' training items (CSR)
  const ContentVectors* content = nullptr;  // required by contentknn
  uint64_t seed = 42;
  int threads = 1;
  int knn_neighbors = 50;
  double knn_shrinkage = 10.0;
  double ease_lambda = 500.0;
  uint32_t ease_max_items = 20000;
  struct IalsOptions ials;
};

// "random" | "popularity" | "itemknn" | "userknn" | "contentknn" | "ease" | "ials"; UsageError
// listing the names for anything else, ConfigError for knn_neighbors < 1 or knn_shrinkage < 0,
// Error when contentknn has no content vectors or they do not match the split's catalogue.
std::unique_ptr<Scorer> make_baseline(const std::string& name, const BaselineInputs& inputs);

// Inputs with the seed and KNN settings of `evaluation.*` in the config.
BaselineInputs baseline_inputs(const EvaluationConfig& evaluation, const SplitData& split,
                               const UserItemIndex& train, const ContentVectors* content,
                               int threads);
std::vector<std::string> baseline_names();

// Per-row neighbour lists in CSR form, each row's neighbours sorted by index.
struct NeighbourLists {
  std::vector<uint64_t> offsets;  // rows + 1
  std::vector<uint32_t> index;
  std::vector<float> similarity;

  uint32_t rows() const { return offsets.empty() ? 0 : uint32_t(offsets.size() - 1); }
  size_t count(uint32_t row) const { return offsets[row + 1] - offsets[row]; }
  // The similarity of `other` in `row`'s list, 0 when it is not a neighbour (binary search).
  float find(uint32_t row, uint32_t other) const;
};

// For each row of a binary sparse matrix (`rows`: row → its columns), its k most similar other
// rows by |A ∩ B| / (sqrt(|A| |B|) + shrinkage), ties to the lower index; rows sharing no
// column are never neighbours. `columns` is the transpose (column → rows): intersections are
// counted sparsely through it, in parallel over rows, never as a dense rows × rows matrix.
NeighbourLists top_k_cosine_neighbours(const UserItemIndex& rows, const UserItemIndex& columns,
                                       int k, double shrinkage, int threads);

// The transpose of `index` (column → rows) with `num_columns` rows.
UserItemIndex transpose(const UserItemIndex& index, uint32_t num_columns);

// Uniform [0, 1) from a hash of (seed, user, item): a fixed random ranking per user.
class RandomScorer : public Scorer {
 public:
  RandomScorer(uint64_t seed, int threads) : seed_(seed), threads_(threads) {}
  std::string name() const override { return "random"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override;
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count, float* out) override;
  float score(uint32_t user, uint32_t item) const;

 private:
  uint64_t seed_;
  int threads_;
};

// The item's number of training interactions, whoever the user is.
class PopularityScorer : public Scorer {
 public:
  explicit PopularityScorer(const SplitData& split);
  std::string name() const override { return "popularity"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override;
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count, float* out) override;

 private:
  std::vector<float> counts_;
};

// score(u, i) = Σ over the user's training items j of sim(j, i), where i is one of j's k
// neighbours (item-item shrunk cosine over training user sets).
class ItemKnnScorer : public Scorer {
 public:
  ItemKnnScorer(const UserItemIndex& train, uint32_t num_items, int k, double shrinkage,
                int threads);
  std::string name() const override { return "itemknn"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override;
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count, float* out) override;
  const NeighbourLists& neighbours() const { return neighbours_; }

 private:
  const UserItemIndex& train_;
  uint32_t num_items_;
  int threads_;
  NeighbourLists neighbours_;  // item → similar items
};

// score(u, i) = Σ over u's k neighbour users v with i among v's training items of sim(u, v).
// Users without training items (cold users) score 0.
class UserKnnScorer : public Scorer {
 public:
  UserKnnScorer(const UserItemIndex& train, uint32_t num_items, int k, double shrinkage,
                int threads);
  std::string name() const override { return "userknn"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override;
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count, float* out) override;
  const NeighbourLists& neighbours() const { return neighbours_; }

 private:
  const UserItemIndex& train_;
  uint32_t num_items_;
  int threads_;
  NeighbourLists neighbours_;  // user → similar users
};

// score(u, i) = dot(profile_u, content_i), profile_u = mean content row of u's training items
// that have content. Needs no training data on the item side, so cold items get real scores.
class ContentKnnScorer : public Scorer {
 public:
  ContentKnnScorer(const UserItemIndex& train, const ContentVectors& content, int threads);
  std::string name() const override { return "contentknn"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override;
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count, float* out) override;
  // Writes the user's profile (dim floats); false (and zeros) when it has no content items.
  bool profile(uint32_t user, float* out) const;

 private:
  const UserItemIndex& train_;
  const ContentVectors& content_;
  int threads_;
};

// EASE^R: score(u, j) = sum over u's training items i of B[i][j], with the closed-form item-item
// weights B = I - P diag(1/diag(P)), P = (X^T X + lambda I)^-1 (diag(B) = 0). Dense items x
// items floats: ConfigError above max_items. Cold users score 0.
class EaseScorer : public Scorer {
 public:
  EaseScorer(const UserItemIndex& train, uint32_t num_items, double lambda, uint32_t max_items,
             int threads);
  std::string name() const override { return "ease"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override;
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count, float* out) override;
  float score(uint32_t user, uint32_t item) const;
  float weight(uint32_t from, uint32_t to) const {
    return weights_[size_t(from) * num_items_ + to];
  }

 private:
  const UserItemIndex& train_;
  uint32_t num_items_;
  int threads_;
  std::vector<float> weights_;  // B, row-major
};

// iALS: score(u, i) = x_u . y_i, factors of implicit-feedback ALS on the training interactions
// (ID only: cold users and cold items score 0). Deterministic for a seed, whatever the threads.
class IalsScorer : public Scorer {
 public:
  IalsScorer(const UserItemIndex& train, uint32_t num_items, const IalsOptions& options,
             uint64_t seed, int threads);
  std::string name() const override { return "ials"; }
  void score_block(const uint32_t* users, size_t num_users, const uint32_t* items, size_t num_items,
                   float* out) override;
  void score_pairs(const uint32_t* users, const uint32_t* items, size_t count, float* out) override;
  float score(uint32_t user, uint32_t item) const;
  const std::vector<float>& user_factors() const { return users_; }
  const std::vector<float>& item_factors() const { return items_; }

 private:
  const UserItemIndex& train_;
  uint32_t num_items_;
  int factors_;
  int threads_;
  std::vector<float> users_, items_;  // row-major, factors_ per row
};

}  // namespace pixelrec::eval
