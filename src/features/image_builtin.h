// The built-in image extractor (SPEC §5, `model.vision_model: builtin`): no downloaded weights,
// deterministic, fixed dimension. An HSV colour histogram, gradient-orientation histograms and a
// coarse spatial colour layout of the image resized to a square; blocks and whole L2-normalised.
#pragma once

#include <memory>

#include "core/config.h"
#include "features/extractor.h"

namespace pixelrec::features {

// Layout of the vector (offsets into a row of dim() floats), exposed for tests and docs.
struct BuiltinImageLayout {
  static constexpr int kHueBins = 8;
  static constexpr int kSaturationBins = 3;
  static constexpr int kValueBins = 3;
  static constexpr int kOrientationBins = 9;  // unsigned, 20° apart; bin 0 = horizontal gradient
  static constexpr int kGradientCells = 2;    // 2×2 cells, then the whole image
  static constexpr int kLayoutGrid = 4;       // 4×4 cells of mean CIELAB colour

  static constexpr int kColourOffset = 0;
  static constexpr int kColourSize = kHueBins * kSaturationBins * kValueBins;
  static constexpr int kGradientOffset = kColourOffset + kColourSize;
  static constexpr int kGradientSize = (kGradientCells * kGradientCells + 1) * kOrientationBins;
  static constexpr int kLayoutOffset = kGradientOffset + kGradientSize;
  static constexpr int kLayoutSize = kLayoutGrid * kLayoutGrid * 3;
  static constexpr int kDim = kLayoutOffset + kLayoutSize;
};

std::unique_ptr<FeatureExtractor> make_builtin_image_extractor(const FeaturesConfig& config);

}  // namespace pixelrec::features
