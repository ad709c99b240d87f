// Imported item embeddings (SPEC §5, `model.vision_model: import:<path>`): vectors computed
// elsewhere, from a .npy matrix with a sidecar id file or from an .h5 file with item_ids and
// embeddings datasets, looked up by item id; items missing from the file get presence 0.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "features/extractor.h"

namespace pixelrec::features {

// The rows of an embedding file, in file order.
struct EmbeddingTable {
  std::vector<std::string> ids;
  std::vector<float> values;  // ids.size() × dim, row-major
  size_t dim = 0;
};

// A 2-D float32/float64 C-order .npy matrix; its item ids come from `<file>.ids` or
// `<stem>.ids.txt` (one id a line, in row order). Throws Error naming the file and the fix.
EmbeddingTable read_npy_embeddings(const std::filesystem::path& file);

// An .h5 file with /item_ids (strings) and /embeddings [N, D] (any float type).
EmbeddingTable read_h5_embeddings(const std::filesystem::path& file);

// modality: "image" or "text". The file is read (and validated) here, once.
std::unique_ptr<FeatureExtractor> make_imported_extractor(const std::string& modality,
                                                          const std::filesystem::path& file);

}  // namespace pixelrec::features
