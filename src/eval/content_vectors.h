// Item content vectors for content-KNN, intra-list diversity and MMR re-ranking: per item, the
// image and text feature rows of the store, each L2-normalised, concatenated and scaled so a row
// with any content has unit length (numeric metadata is left out: it is engagement counts, i.e.
// popularity, not content). Items with no image and no text have a zero row.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

namespace pixelrec::eval {

struct ContentVectors {
  uint32_t num_items = 0;
  int dim = 0;
  std::vector<float> values;     // num_items × dim, row-major
  std::vector<uint8_t> present;  // 1 when the row is non-zero

  const float* row(uint32_t item) const { return values.data() + size_t(item) * dim; }
  bool has(uint32_t item) const { return present[item] != 0; }
  // Cosine of two items (rows are unit or zero, so this is a dot product; 0 for a zero row).
  float cosine(uint32_t a, uint32_t b) const;
};

// Reads the whole store (all items, in item-index order). Throws Error naming the store and the
// fix (`pixelrec cache`) when it is missing or holds neither image nor text features.
ContentVectors load_content_vectors(const std::filesystem::path& store, int threads);

// load_content_vectors when the store exists and holds an image or text modality, else nullptr
// (diversity@K is then omitted).
std::unique_ptr<ContentVectors> load_content_vectors_if_any(const std::filesystem::path& store,
                                                            int threads);

}  // namespace pixelrec::eval
