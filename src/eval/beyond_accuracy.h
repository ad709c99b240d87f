// Beyond-accuracy metrics over the top-K lists of all evaluated users: catalogue coverage,
// novelty (training popularity only), intra-list diversity, Gini index of exposure and
// personalization. Formulas: docs/evaluation.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "eval/content_vectors.h"

namespace pixelrec::eval {

// num_lists ranked lists of `width` items each (row-major, best first); metrics use the first k.
struct TopLists {
  const uint32_t* items = nullptr;
  size_t num_lists = 0;
  size_t width = 0;
  const uint32_t* list(size_t i) const { return items + i * width; }
};

// How many of the lists hold each item in their first k (indexed by item, size num_items).
std::vector<int64_t> exposure_counts(const TopLists& lists, int k, uint32_t num_items);

// |items with exposure > 0| / |catalogue|; catalogue: the items the task ranks.
double catalogue_coverage(const std::vector<int64_t>& exposure,
                          const std::vector<uint32_t>& catalogue);

// Gini index of the catalogue items' exposure counts: 0 = equal exposure, (n-1)/n = one item.
double exposure_gini(const std::vector<int64_t>& exposure, const std::vector<uint32_t>& catalogue);

// 1 - mean over list pairs of |L_u ∩ L_v| / k, from exposure counts in O(items). num_lists >= 2.
double personalization(const std::vector<int64_t>& exposure, size_t num_lists, int k);

// Mean over lists of the mean self-information -log2(p_i) of their first k items, with
// p_i = (train_count_i + 1) / (sum of train counts + number of items).
double novelty(const TopLists& lists, int k, const std::vector<int64_t>& train_counts);

// Mean over lists of 1 - mean pairwise cosine of the first k items' content vectors (k >= 2).
// Uses sum_{i<j} v_i·v_j = (|sum v|^2 - sum |v|^2) / 2: O(k·dim) per list.
double intra_list_diversity(const TopLists& lists, int k, const ContentVectors& content,
                            int threads);

}  // namespace pixelrec::eval
