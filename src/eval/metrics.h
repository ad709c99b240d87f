// Accuracy metrics of one user's ranked list (precision, recall, F1, hit rate, NDCG, MAP at each
// K, and MRR), computed in one pass over the top-max(K) items. Formulas: docs/evaluation.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pixelrec::eval {

// The per-K accuracy metrics, in output order; each is followed by its K values (ascending).
inline constexpr const char* kPerKAccuracyMetrics[] = {"precision", "recall", "f1",
                                                       "hit_rate",  "ndcg",   "map"};
inline constexpr size_t kNumPerKAccuracyMetrics = 6;

class AccuracyCalculator {
 public:
  // ks: positive and strictly ascending (InternalError otherwise; evaluate() validates flags).
  explicit AccuracyCalculator(std::vector<int> ks);

  const std::vector<int>& ks() const { return ks_; }
  int max_k() const { return ks_.back(); }
  // "precision@5", "precision@10", ..., "map@20", "mrr": metric-major, then K.
  const std::vector<std::string>& names() const { return names_; }
  size_t num_values() const { return names_.size(); }
  // Index of name(metric, k) in names(): metric is a position in kPerKAccuracyMetrics.
  size_t index(size_t metric, size_t k_position) const { return metric * ks_.size() + k_position; }
  size_t mrr_index() const { return names_.size() - 1; }

  // top: the user's max_k() best candidates, best first. relevant: sorted, unique, non-empty.
  // best_relevant_rank: how many candidates (in the whole candidate list, not only the top)
  // rank ahead of the user's best-ranked relevant item. Writes num_values() values to out.
  void compute(const uint32_t* top, const uint32_t* relevant, size_t num_relevant,
               size_t best_relevant_rank, double* out) const;

 private:
  std::vector<int> ks_;
  std::vector<std::string> names_;
  std::vector<double> discount_;   // discount_[k] = 1 / log2(k + 2): gain at 0-based rank k
  std::vector<double> ideal_dcg_;  // ideal_dcg_[n] = sum of the first n discounts
};

}  // namespace pixelrec::eval
