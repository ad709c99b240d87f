// Loads the TorchScript backbone plugin (libpixelrec_torch_backbones.so) on first use. The plugin
// is looked up in $PIXELREC_PLUGIN_DIR, else next to the running executable.
#pragma once

#include <memory>

#include "features/backbone.h"

namespace pixelrec::features {

struct TorchBackbonePlugin {
  std::unique_ptr<FeatureExtractor> make_vision(const BackboneFiles& files,
                                                const VisionSidecar& sidecar,
                                                const FeaturesConfig& features) const;
  std::unique_ptr<FeatureExtractor> make_text(const BackboneFiles& files,
                                              const TextSidecar& sidecar,
                                              const FeaturesConfig& features) const;

  using VisionEntry = FeatureExtractor* (*)(const BackboneFiles&, const VisionSidecar&,
                                            const FeaturesConfig&);
  using TextEntry = FeatureExtractor* (*)(const BackboneFiles&, const TextSidecar&,
                                          const FeaturesConfig&);
  VisionEntry vision = nullptr;
  TextEntry text = nullptr;
};

// Throws Error naming the plugin path, the loader's message and the fix when it cannot load.
const TorchBackbonePlugin& torch_backbone_plugin();

}  // namespace pixelrec::features
