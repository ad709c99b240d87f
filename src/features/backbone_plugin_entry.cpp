// The plugin's C entry points: the torch-free extractor factory (extractor_factory.cpp) finds
// these with dlsym and takes ownership of the returned extractors.
#include "features/backbone.h"

extern "C" {

__attribute__((visibility("default"))) pixelrec::features::FeatureExtractor*
pixelrec_make_vision_backbone(const pixelrec::features::BackboneFiles& files,
                              const pixelrec::features::VisionSidecar& sidecar,
                              const pixelrec::FeaturesConfig& features) {
  return pixelrec::features::make_vision_backbone(files, sidecar, features).release();
}

__attribute__((visibility("default"))) pixelrec::features::FeatureExtractor*
pixelrec_make_text_backbone(const pixelrec::features::BackboneFiles& files,
                            const pixelrec::features::TextSidecar& sidecar,
                            const pixelrec::FeaturesConfig& features) {
  return pixelrec::features::make_text_backbone(files, sidecar, features).release();
}

}  // extern "C"
