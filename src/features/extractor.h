// One interface for every item feature extractor (built-in image/text, TorchScript backbones,
// imported embeddings). The cache step feeds batches of catalogue items and stores the rows;
// an item an extractor cannot use (no image, corrupt file, empty text) gets presence 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace pixelrec::features {

// What extractors see of one catalogue item (processed item_info.csv + processed images).
struct ItemContent {
  std::string id;
  std::string title;
  std::string description;
  std::string tag;
  std::string image_path;  // absolute or cwd-relative path; empty when the item has no image
};

// The result of one batch: how many items had an input that could not be used (e.g. an image
// that fails to decode). Those rows are zero with presence 0; the caller logs and counts them.
struct ExtractBatchStats {
  size_t unusable_inputs = 0;
  std::vector<std::string> unusable_examples;  // "item 123: image does not decode", at most a few
};

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;

  virtual std::string modality() const = 0;  // "image" or "text"
  virtual int dim() const = 0;
  // Name and every parameter that affects the values, as a JSON object string: stored in the
  // feature store's attributes and hashed into its fingerprint.
  virtual std::string describe() const = 0;

  // Fits data-dependent state (e.g. IDF) on the training items. Extractors without such state
  // ignore it. Called once, before extract.
  virtual void fit(const std::vector<ItemContent>& training_items) {}

  // Writes batch.size() rows of dim() floats into `out` (row-major) and one presence flag per
  // item into `present` (1: row holds features; 0: row is all zeros and must be masked).
  // Thread-safe for concurrent calls on disjoint batches unless thread_safe() is false.
  virtual ExtractBatchStats extract(const std::vector<const ItemContent*>& batch, float* out,
                                    uint8_t* present) = 0;
  virtual bool thread_safe() const { return true; }
  // The cores one extract() call may use (the TorchScript backbones' intra-op threads and image
  // decoding); the cache step gives each rank its share. Extractors that the cache step runs on
  // several threads ignore it.
  virtual void set_threads(int threads) {}
};

// The extractor selected by model.vision_model / model.language_model, or nullptr when the
// modality is disabled ("none"). Throws Error for an unknown name or a missing backbone file
// (naming the file and how to export it).
std::unique_ptr<FeatureExtractor> make_image_extractor(const Config& config);
std::unique_ptr<FeatureExtractor> make_text_extractor(const Config& config);

}  // namespace pixelrec::features
