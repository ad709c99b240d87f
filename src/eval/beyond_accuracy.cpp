#include "eval/beyond_accuracy.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/parallel.h"

namespace pixelrec::eval {

std::vector<int64_t> exposure_counts(const TopLists& lists, int k, uint32_t num_items) {
  PIXELREC_CHECK(k > 0 && size_t(k) <= lists.width, "k must be within the list width");
  std::vector<int64_t> counts(num_items, 0);
  for (size_t i = 0; i < lists.num_lists; ++i) {
    const uint32_t* list = lists.list(i);
    for (int pos = 0; pos < k; ++pos) ++counts[list[pos]];
  }
  return counts;
}

double catalogue_coverage(const std::vector<int64_t>& exposure,
                          const std::vector<uint32_t>& catalogue) {
  PIXELREC_CHECK(!catalogue.empty(), "empty catalogue");
  size_t covered = 0;
  for (uint32_t item : catalogue) covered += exposure[item] > 0;
  return double(covered) / double(catalogue.size());
}

double exposure_gini(const std::vector<int64_t>& exposure, const std::vector<uint32_t>& catalogue) {
  PIXELREC_CHECK(!catalogue.empty(), "empty catalogue");
  std::vector<int64_t> sorted(catalogue.size());
  for (size_t i = 0; i < catalogue.size(); ++i) sorted[i] = exposure[catalogue[i]];
  std::sort(sorted.begin(), sorted.end());
  // G = sum_i (2i - n - 1) x_(i) / (n sum x), i = 1..n over ascending counts.
  const double n = double(sorted.size());
  double weighted = 0, total = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    weighted += (2.0 * double(i + 1) - n - 1.0) * double(sorted[i]);
    total += double(sorted[i]);
  }
  return total > 0 ? weighted / (n * total) : 0.0;
}

double personalization(const std::vector<int64_t>& exposure, size_t num_lists, int k) {
  PIXELREC_CHECK(num_lists >= 2 && k > 0, "personalization needs two lists");
  // Each item shown in c lists is shared by c(c-1)/2 list pairs.
  double shared = 0;
  for (int64_t c : exposure) shared += double(c) * double(c - 1) / 2.0;
  const double pairs = double(num_lists) * double(num_lists - 1) / 2.0;
  return 1.0 - shared / (double(k) * pairs);
}

double novelty(const TopLists& lists, int k, const std::vector<int64_t>& train_counts) {
  PIXELREC_CHECK(lists.num_lists > 0 && k > 0 && size_t(k) <= lists.width, "no lists");
  double total_count = 0;
  for (int64_t c : train_counts) total_count += double(c);
  const double denominator = total_count + double(train_counts.size());
  std::vector<double> information(train_counts.size());
  for (size_t i = 0; i < train_counts.size(); ++i)
    information[i] = -std::log2((double(train_counts[i]) + 1.0) / denominator);
  double sum = 0;
  for (size_t i = 0; i < lists.num_lists; ++i) {
    const uint32_t* list = lists.list(i);
    double list_sum = 0;
    for (int pos = 0; pos < k; ++pos) list_sum += information[list[pos]];
    sum += list_sum / double(k);
  }
  return sum / double(lists.num_lists);
}

double intra_list_diversity(const TopLists& lists, int k, const ContentVectors& content,
                            int threads) {
  PIXELREC_CHECK(lists.num_lists > 0 && k >= 2 && size_t(k) <= lists.width,
                 "diversity needs lists of two or more items");
  const size_t dim = size_t(content.dim);
  const size_t workers = size_t(std::max(threads, 1));
  std::vector<std::vector<double>> sums(workers, std::vector<double>(dim));
  std::vector<double> per_list(lists.num_lists);
  parallel_for(lists.num_lists, threads, [&](size_t i, size_t worker) {
    std::vector<double>& sum = sums[worker];
    std::fill(sum.begin(), sum.end(), 0.0);
    double squared_norms = 0;
    const uint32_t* list = lists.list(i);
    for (int pos = 0; pos < k; ++pos) {
      const float* row = content.row(list[pos]);
      double norm = 0;
      for (size_t d = 0; d < dim; ++d) {
        sum[d] += row[d];
        norm += double(row[d]) * row[d];
      }
      squared_norms += norm;
    }
    double sum_norm = 0;
    for (size_t d = 0; d < dim; ++d) sum_norm += sum[d] * sum[d];
    const double pair_cosines = (sum_norm - squared_norms) / 2.0;
    const double pairs = double(k) * double(k - 1) / 2.0;
    per_list[i] = 1.0 - pair_cosines / pairs;
  });
  double total = 0;  // summed in list order: independent of the thread count
  for (double v : per_list) total += v;
  return total / double(lists.num_lists);
}

}  // namespace pixelrec::eval
