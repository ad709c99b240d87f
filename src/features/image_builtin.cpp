#include "features/image_builtin.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace pixelrec::features {

namespace {

using L = BuiltinImageLayout;

constexpr int kVersion = 1;
constexpr size_t kMaxExamples = 5;
constexpr float kHueStep = 360.0f / L::kHueBins;  // degrees between hue bin centres
constexpr float kOrientationStep = 180.0f / L::kOrientationBins;
constexpr float kRadToDeg = 57.29577951308232f;
// Normalisation floors (v / sqrt(|v|² + floor²)) so that flat regions stay near zero instead of
// amplifying JPEG noise: a mean Sobel magnitude per pixel (intensity in [0, 1]; noise of ±1/255
// gives about 0.01) and a colour difference from the image mean per layout cell (CIELAB ΔE).
constexpr float kFlatGradientPerPixel = 0.02f;
constexpr float kFlatLayoutDeltaE = 2.0f;

// Buffers reused across the items of one batch.
struct Workspace {
  cv::Mat resized;  // CV_8UC3, size × size
  cv::Mat bgr;      // CV_32FC3 in [0, 1]
  cv::Mat hsv;      // CV_32FC3: H in [0, 360), S and V in [0, 1]
  cv::Mat gray, dx, dy;
  cv::Mat cells, lab;  // 4×4 mean colours
};

// Linear (soft) binning of x measured in bin units: bins i0 and i1 with weights w0 and w1.
struct SoftBin {
  int i0, i1;
  float w0, w1;
};

// Bin centres at 0, 1, ..., bins - 1 on a circle (hue, orientation).
SoftBin circular_bin(float pos, int bins) {
  const float floor_pos = std::floor(pos);
  const int i0 = ((static_cast<int>(floor_pos) % bins) + bins) % bins;
  const float frac = pos - floor_pos;
  return {i0, (i0 + 1) % bins, 1.0f - frac, frac};
}

// Bin centres at (i + 0.5) / bins for x in [0, 1]; the outer halves go wholly to the end bins.
SoftBin linear_bin(float x, int bins) {
  const float pos = std::clamp(x * static_cast<float>(bins) - 0.5f, 0.0f, bins - 1.0f);
  const int i0 = std::min(static_cast<int>(pos), bins - 2);
  const float frac = pos - static_cast<float>(i0);
  return {i0, i0 + 1, 1.0f - frac, frac};
}

void l2_normalise(float* v, int n, float floor = 0.0f) {
  double sum = static_cast<double>(floor) * floor;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(v[i]) * v[i];
  if (sum <= 0) return;
  const auto inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (int i = 0; i < n; ++i) v[i] *= inv;
}

// Soft-binned hue × saturation × value counts, square-rooted (Hellinger) so that one dominant
// colour does not drown the rest.
void colour_histogram(const cv::Mat& hsv, float* out) {
  std::fill(out, out + L::kColourSize, 0.0f);
  for (int y = 0; y < hsv.rows; ++y) {
    const auto* row = hsv.ptr<cv::Vec3f>(y);
    for (int x = 0; x < hsv.cols; ++x) {
      const SoftBin h = circular_bin(row[x][0] / kHueStep, L::kHueBins);
      const SoftBin s = linear_bin(row[x][1], L::kSaturationBins);
      const SoftBin v = linear_bin(row[x][2], L::kValueBins);
      for (const auto& [hi, hw] : {std::pair{h.i0, h.w0}, std::pair{h.i1, h.w1}})
        for (const auto& [si, sw] : {std::pair{s.i0, s.w0}, std::pair{s.i1, s.w1}})
          for (const auto& [vi, vw] : {std::pair{v.i0, v.w0}, std::pair{v.i1, v.w1}})
            out[(hi * L::kSaturationBins + si) * L::kValueBins + vi] += hw * sw * vw;
    }
  }
  for (int i = 0; i < L::kColourSize; ++i) out[i] = std::sqrt(out[i]);
}

// Magnitude-weighted unsigned orientation histograms of Sobel gradients: one per cell of a 2×2
// grid, then one for the whole image, each L2-normalised with a floor (HOG-style contrast
// invariance); the block is scaled to norm 1 when every histogram is well textured.
void gradient_histograms(Workspace& ws, float* out) {
  cv::cvtColor(ws.bgr, ws.gray, cv::COLOR_BGR2GRAY);
  cv::Sobel(ws.gray, ws.dx, CV_32F, 1, 0, 3);
  cv::Sobel(ws.gray, ws.dy, CV_32F, 0, 1, 3);
  std::fill(out, out + L::kGradientSize, 0.0f);
  float* global = out + L::kGradientCells * L::kGradientCells * L::kOrientationBins;
  const int size = ws.gray.rows;
  for (int y = 0; y < size; ++y) {
    const float* gx = ws.dx.ptr<float>(y);
    const float* gy = ws.dy.ptr<float>(y);
    const int cell_row = y * L::kGradientCells / size;
    for (int x = 0; x < size; ++x) {
      const float magnitude = std::hypot(gx[x], gy[x]);
      if (magnitude <= 0) continue;
      float angle = std::atan2(gy[x], gx[x]) * kRadToDeg;  // (-180, 180], folded to [0, 180)
      if (angle < 0) angle += 180.0f;
      if (angle >= 180.0f) angle -= 180.0f;
      const SoftBin b = circular_bin(angle / kOrientationStep, L::kOrientationBins);
      const int cell = cell_row * L::kGradientCells + x * L::kGradientCells / size;
      float* hist = out + cell * L::kOrientationBins;
      hist[b.i0] += magnitude * b.w0;
      hist[b.i1] += magnitude * b.w1;
      global[b.i0] += magnitude * b.w0;
      global[b.i1] += magnitude * b.w1;
    }
  }
  constexpr int kHistograms = L::kGradientCells * L::kGradientCells + 1;
  const auto image_pixels = static_cast<float>(size * size);
  for (int h = 0; h < kHistograms; ++h) {
    const float pixels = h + 1 < kHistograms ? image_pixels / (kHistograms - 1) : image_pixels;
    l2_normalise(out + h * L::kOrientationBins, L::kOrientationBins,
                 kFlatGradientPerPixel * pixels);
  }
  const float block_scale = 1.0f / std::sqrt(static_cast<float>(kHistograms));
  for (int i = 0; i < L::kGradientSize; ++i) out[i] *= block_scale;
}

// Mean CIELAB colour of each 4×4 cell minus the image's mean: where colours sit, not which
// colours (the histogram says that), so a uniform image has a near-zero layout. L2-normalised
// with a floor.
void spatial_layout(Workspace& ws, float* out) {
  cv::resize(ws.bgr, ws.cells, cv::Size(L::kLayoutGrid, L::kLayoutGrid), 0, 0, cv::INTER_AREA);
  cv::cvtColor(ws.cells, ws.lab, cv::COLOR_BGR2Lab);
  float mean[3] = {0, 0, 0};
  for (int y = 0; y < L::kLayoutGrid; ++y)
    for (int x = 0; x < L::kLayoutGrid; ++x)
      for (int c = 0; c < 3; ++c) {
        const float value = ws.lab.at<cv::Vec3f>(y, x)[c];
        out[(y * L::kLayoutGrid + x) * 3 + c] = value;
        mean[c] += value / (L::kLayoutGrid * L::kLayoutGrid);
      }
  for (int i = 0; i < L::kLayoutSize; ++i) out[i] -= mean[i % 3];
  constexpr int kCells = L::kLayoutGrid * L::kLayoutGrid;
  l2_normalise(out, L::kLayoutSize, kFlatLayoutDeltaE * std::sqrt(static_cast<float>(kCells)));
}

void compute_features(const cv::Mat& image, int size, Workspace& ws, float* row) {
  cv::resize(image, ws.resized, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  ws.resized.convertTo(ws.bgr, CV_32FC3, 1.0 / 255.0);
  cv::cvtColor(ws.bgr, ws.hsv, cv::COLOR_BGR2HSV);
  colour_histogram(ws.hsv, row + L::kColourOffset);
  gradient_histograms(ws, row + L::kGradientOffset);
  spatial_layout(ws, row + L::kLayoutOffset);
  l2_normalise(row + L::kColourOffset, L::kColourSize);
  l2_normalise(row, L::kDim);
}

// The decoded BGR image, or an empty Mat when the file is missing or does not decode.
cv::Mat read_image(const std::string& path) {
  try {
    return cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    return {};
  }
}

class BuiltinImageExtractor final : public FeatureExtractor {
 public:
  explicit BuiltinImageExtractor(int image_size) : image_size_(image_size) {
    PIXELREC_CHECK(image_size_ >= L::kLayoutGrid, "features.builtin_image_size is validated");
  }

  std::string modality() const override { return "image"; }
  int dim() const override { return L::kDim; }

  std::string describe() const override {
    const nlohmann::ordered_json json = {{"name", "builtin-image"},
                                         {"version", kVersion},
                                         {"dim", L::kDim},
                                         {"image_size", image_size_},
                                         {"resize", "area"},
                                         {"colour_histogram",
                                          {{"space", "hsv"},
                                           {"hue_bins", L::kHueBins},
                                           {"saturation_bins", L::kSaturationBins},
                                           {"value_bins", L::kValueBins},
                                           {"binning", "linear-soft"},
                                           {"transform", "sqrt"}}},
                                         {"gradient_histogram",
                                          {{"operator", "sobel3"},
                                           {"orientation_bins", L::kOrientationBins},
                                           {"orientation", "unsigned"},
                                           {"weight", "magnitude"},
                                           {"cells", L::kGradientCells},
                                           {"global", true},
                                           {"normalisation", "l2-per-histogram"},
                                           {"flat_floor_per_pixel", kFlatGradientPerPixel}}},
                                         {"layout",
                                          {{"grid", L::kLayoutGrid},
                                           {"space", "lab"},
                                           {"centred", true},
                                           {"flat_floor_delta_e", kFlatLayoutDeltaE}}},
                                         {"normalisation", "l2-per-block-then-l2"}};
    return json.dump();
  }

  ExtractBatchStats extract(const std::vector<const ItemContent*>& batch, float* out,
                            uint8_t* present) override {
    ExtractBatchStats stats;
    Workspace ws;
    for (size_t i = 0; i < batch.size(); ++i) {
      float* row = out + i * L::kDim;
      std::fill(row, row + L::kDim, 0.0f);
      present[i] = 0;
      const ItemContent& item = *batch[i];
      if (item.image_path.empty()) continue;  // an item without an image: masked, not an error
      std::error_code ec;
      const bool exists = std::filesystem::is_regular_file(item.image_path, ec);
      const cv::Mat image = exists ? read_image(item.image_path) : cv::Mat();
      if (image.empty()) {
        ++stats.unusable_inputs;
        if (stats.unusable_examples.size() < kMaxExamples)
          stats.unusable_examples.push_back("item " + item.id + ": image '" + item.image_path +
                                            (exists ? "' does not decode" : "' does not exist"));
        continue;
      }
      compute_features(image, image_size_, ws, row);
      present[i] = 1;
    }
    return stats;
  }

 private:
  int image_size_;
};

}  // namespace

std::unique_ptr<FeatureExtractor> make_builtin_image_extractor(const FeaturesConfig& config) {
  return std::make_unique<BuiltinImageExtractor>(config.builtin_image_size);
}

}  // namespace pixelrec::features
