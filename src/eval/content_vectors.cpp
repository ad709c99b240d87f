#include "eval/content_vectors.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"
#include "core/parallel.h"
#include "features/feature_store.h"

namespace pixelrec::eval {

namespace {

// The content modalities, in the order their slices appear in a content row.
constexpr const char* kContentModalities[] = {"image", "text"};
constexpr uint32_t kItemsPerTask = 256;

}  // namespace

float ContentVectors::cosine(uint32_t a, uint32_t b) const {
  const float* x = row(a);
  const float* y = row(b);
  float sum = 0.0f;
  for (int d = 0; d < dim; ++d) sum += x[d] * y[d];
  return sum;
}

ContentVectors load_content_vectors(const std::filesystem::path& store, int threads) {
  const std::string file = store.string();
  const auto info = features::read_store_info(store);
  if (!info)
    throw Error("feature store '" + file +
                "' does not exist; content vectors come from it: run `pixelrec cache` first (or "
                "set data.feature_store_path)");
  const features::FeatureShard shard = features::load_feature_range(store, {0, info->num_items});

  std::vector<const features::FeatureShard::Block*> blocks;
  ContentVectors out;
  for (const char* name : kContentModalities)
    if (const auto* block = shard.modality(name)) {
      blocks.push_back(block);
      out.dim += block->spec.dim;
    }
  if (blocks.empty() || out.dim == 0)
    throw Error("feature store '" + file +
                "' holds neither image nor text features, so items have no content vectors; "
                "enable an image or text extractor and run `pixelrec cache --force-recompute`");

  out.num_items = info->num_items;
  out.values.assign(size_t(out.num_items) * out.dim, 0.0f);
  out.present.assign(out.num_items, 0);
  const size_t tasks = (out.num_items + kItemsPerTask - 1) / kItemsPerTask;
  parallel_for(tasks, threads, [&](size_t task) {
    const uint32_t begin = uint32_t(task) * kItemsPerTask;
    const uint32_t end = std::min(out.num_items, begin + kItemsPerTask);
    for (uint32_t item = begin; item < end; ++item) {
      float* dst = out.values.data() + size_t(item) * out.dim;
      int offset = 0, modalities = 0;
      for (const auto* block : blocks) {
        const int d = block->spec.dim;
        const float* src = block->values.data() + size_t(item) * d;
        double norm2 = 0.0;
        for (int k = 0; k < d; ++k) norm2 += double(src[k]) * src[k];
        // A row flagged present but all zeros has no direction: treat it as missing.
        if (block->present[item] && norm2 > 0.0) {
          const float inv = float(1.0 / std::sqrt(norm2));
          for (int k = 0; k < d; ++k) dst[offset + k] = src[k] * inv;
          ++modalities;
        }
        offset += d;
      }
      if (modalities == 0) continue;
      // Each present slice is unit, so the concatenation has norm sqrt(modalities).
      const float scale = float(1.0 / std::sqrt(double(modalities)));
      for (int k = 0; k < out.dim; ++k) dst[k] *= scale;
      out.present[item] = 1;
    }
  });
  return out;
}

std::unique_ptr<ContentVectors> load_content_vectors_if_any(const std::filesystem::path& store,
                                                            int threads) {
  const auto info = features::read_store_info(store);
  if (!info) return nullptr;
  for (const auto& m : info->modalities)
    if (m.name == "image" || m.name == "text")
      return std::make_unique<ContentVectors>(load_content_vectors(store, threads));
  return nullptr;
}

}  // namespace pixelrec::eval
