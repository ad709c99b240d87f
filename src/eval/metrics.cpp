#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace pixelrec::eval {

AccuracyCalculator::AccuracyCalculator(std::vector<int> ks) : ks_(std::move(ks)) {
  PIXELREC_CHECK(!ks_.empty() && ks_.front() > 0, "K values must be positive");
  PIXELREC_CHECK(std::adjacent_find(ks_.begin(), ks_.end(), std::greater_equal<int>()) == ks_.end(),
                 "K values must be strictly ascending");
  for (const char* metric : kPerKAccuracyMetrics)
    for (int k : ks_) names_.push_back(std::string(metric) + "@" + std::to_string(k));
  names_.push_back("mrr");
  const int max_k = ks_.back();
  discount_.resize(size_t(max_k));
  ideal_dcg_.assign(size_t(max_k) + 1, 0.0);
  for (int k = 0; k < max_k; ++k) {
    discount_[size_t(k)] = 1.0 / std::log2(double(k) + 2.0);
    ideal_dcg_[size_t(k) + 1] = ideal_dcg_[size_t(k)] + discount_[size_t(k)];
  }
}

void AccuracyCalculator::compute(const uint32_t* top, const uint32_t* relevant, size_t num_relevant,
                                 size_t best_relevant_rank, double* out) const {
  PIXELREC_CHECK(num_relevant > 0, "a user without relevant items cannot be evaluated");
  const size_t num_ks = ks_.size();
  const double r = double(num_relevant);
  size_t hits = 0;
  double dcg = 0, precision_sum = 0;  // precision_sum: sum of precision@k at hit positions
  size_t next_k = 0;
  for (size_t pos = 0; next_k < num_ks; ++pos) {
    if (std::binary_search(relevant, relevant + num_relevant, top[pos])) {
      ++hits;
      dcg += discount_[pos];
      precision_sum += double(hits) / double(pos + 1);
    }
    if (pos + 1 != size_t(ks_[next_k])) continue;
    const double k = double(ks_[next_k]);
    const size_t ideal_hits = std::min(num_relevant, size_t(ks_[next_k]));
    const double precision = double(hits) / k, recall = double(hits) / r;
    out[index(0, next_k)] = precision;
    out[index(1, next_k)] = recall;
    out[index(2, next_k)] =
        precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    out[index(3, next_k)] = hits > 0 ? 1.0 : 0.0;
    out[index(4, next_k)] = dcg / ideal_dcg_[ideal_hits];
    out[index(5, next_k)] = precision_sum / double(ideal_hits);
    ++next_k;
  }
  out[mrr_index()] = 1.0 / double(best_relevant_rank + 1);
}

}  // namespace pixelrec::eval
