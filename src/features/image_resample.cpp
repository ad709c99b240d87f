// A transcription of Pillow's libImaging/Resample.c (ImagingResample with the bilinear filter,
// 8 bits per channel): coefficients per output pixel in double, normalised, turned into 22-bit
// fixed point; a horizontal pass over the rows the vertical pass needs, then the vertical pass,
// each rounding and clipping to 8 bits.
#include "features/image_resample.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/errors.h"

namespace pixelrec::features {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double bilinear_filter(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// For each output pixel: the first input pixel it reads (xmin), how many (count), and its
// fixed-point weights (ksize slots, the unused ones zero).
struct Coefficients {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;
};

Coefficients precompute(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;  // the bilinear filter's support is 1
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filter_scale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = bilinear_filter((x + xmin - center + 0.5) * ss);
      total += k[x];
    }
    int32_t* w = c.weights.data() + static_cast<size_t>(xx) * c.ksize;
    for (int x = 0; x < xmax; ++x) {
      const double v = total != 0.0 ? k[x] / total : k[x];
      w[x] = static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits)
                                        : 0.5 + v * (1 << kPrecisionBits));
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

uint8_t clip8(int32_t value) {
  if (value >= (1 << kPrecisionBits << 8)) return 255;
  if (value <= 0) return 0;
  return static_cast<uint8_t>(value >> kPrecisionBits);
}

// Rows [row0, row0 + out.rows) of `in`, resampled along x into `out`.
void horizontal(const cv::Mat& in, int row0, const Coefficients& c, cv::Mat& out) {
  const int channels = in.channels();
  for (int y = 0; y < out.rows; ++y) {
    const uint8_t* src = in.ptr<uint8_t>(row0 + y);
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int xx = 0; xx < out.cols; ++xx) {
      const int32_t* w = c.weights.data() + static_cast<size_t>(xx) * c.ksize;
      for (int ch = 0; ch < channels; ++ch) {
        int32_t sum = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < c.count[xx]; ++x) sum += src[(c.first[xx] + x) * channels + ch] * w[x];
        dst[xx * channels + ch] = clip8(sum);
      }
    }
  }
}

// `in` resampled along y into `out`; input row indices are shifted down by row0.
void vertical(const cv::Mat& in, int row0, const Coefficients& c, cv::Mat& out) {
  const size_t row_values = static_cast<size_t>(out.cols) * out.channels();
  for (int yy = 0; yy < out.rows; ++yy) {
    const int32_t* w = c.weights.data() + static_cast<size_t>(yy) * c.ksize;
    uint8_t* dst = out.ptr<uint8_t>(yy);
    for (size_t i = 0; i < row_values; ++i) {
      int32_t sum = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < c.count[yy]; ++y)
        sum += in.ptr<uint8_t>(c.first[yy] - row0 + y)[i] * w[y];
      dst[i] = clip8(sum);
    }
  }
}

// torchvision's Resize(int): the shorter side becomes `shorter`, the longer one is truncated.
cv::Size resized_size(int width, int height, int shorter) {
  if (width <= height)
    return {shorter, static_cast<int>(static_cast<int64_t>(shorter) * height / width)};
  return {static_cast<int>(static_cast<int64_t>(shorter) * width / height), shorter};
}

// torchvision's CenterCrop offset: Python round(), i.e. halves to even, as nearbyint does.
int crop_offset(int length, int crop) {
  return static_cast<int>(std::nearbyint((length - crop) / 2.0));
}

}  // namespace

cv::Mat resize_and_centre_crop(const cv::Mat& image, int shorter, int crop) {
  PIXELREC_CHECK(shorter >= crop && crop > 0, "the resize edge must be at least the crop edge");
  const cv::Size size = resized_size(image.cols, image.rows, shorter);
  const cv::Mat resized = resize_like_pillow(image, size);
  const cv::Rect centre(crop_offset(size.width, crop), crop_offset(size.height, crop), crop, crop);
  return resized(centre).clone();
}

cv::Mat resize_like_pillow(const cv::Mat& image, cv::Size size) {
  PIXELREC_CHECK(image.depth() == CV_8U && image.channels() >= 1 && image.channels() <= 4,
                 "resize_like_pillow takes 8-bit images with 1 to 4 channels");
  PIXELREC_CHECK(size.width > 0 && size.height > 0 && !image.empty(), "resize to an empty size");
  const bool need_horizontal = size.width != image.cols;
  const bool need_vertical = size.height != image.rows;
  if (!need_horizontal && !need_vertical) return image.clone();
  const Coefficients vert = precompute(image.rows, size.height);
  cv::Mat rows = image;
  int row0 = 0;
  if (need_horizontal) {
    // Only the input rows the vertical pass reads.
    row0 = need_vertical ? vert.first.front() : 0;
    const int row_end = need_vertical ? vert.first.back() + vert.count.back() : image.rows;
    cv::Mat narrowed(row_end - row0, size.width, image.type());
    horizontal(image, row0, precompute(image.cols, size.width), narrowed);
    if (!need_vertical) return narrowed;
    rows = narrowed;
  }
  cv::Mat out(size, image.type());
  vertical(rows, row0, vert, out);
  return out;
}

}  // namespace pixelrec::features
