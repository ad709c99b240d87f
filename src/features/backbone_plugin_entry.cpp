// The plugin's C entry points: the torch-free extractor factory (extractor_factory.cpp) finds
// these with dlsym and takes ownership of the returned extractors.
#include <malloc.h>

#include <mutex>

#include "features/backbone.h"

namespace {

// A forward allocates and frees activations of tens of MB. glibc serves each with a fresh mmap
// whose pages the kernel zero-fills on first touch: 512 EfficientNet-Lite0 images took 27 s of
// system time for 10 s of compute. Served from the heap and kept after free, they are reused.
void reuse_freed_memory() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
  });
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) pixelrec::features::FeatureExtractor*
pixelrec_make_vision_backbone(const pixelrec::features::BackboneFiles& files,
                              const pixelrec::features::VisionSidecar& sidecar,
                              const pixelrec::FeaturesConfig& features) {
  reuse_freed_memory();
  return pixelrec::features::make_vision_backbone(files, sidecar, features).release();
}

__attribute__((visibility("default"))) pixelrec::features::FeatureExtractor*
pixelrec_make_text_backbone(const pixelrec::features::BackboneFiles& files,
                            const pixelrec::features::TextSidecar& sidecar,
                            const pixelrec::FeaturesConfig& features) {
  reuse_freed_memory();
  return pixelrec::features::make_text_backbone(files, sidecar, features).release();
}

}  // extern "C"
