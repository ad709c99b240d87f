// Item images: the topic fixes the hue, the background brightness, the shape and the texture;
// each item jitters position, size, rotation, hue (±10°), background tint and pixel noise.
#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/rng.h"
#include "data/synth.h"

namespace pixelrec::synth {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kJpegQuality = 90;
constexpr double kHueJitterDegrees = 10.0;
constexpr int kShapeCount = 6;    // circle, square, triangle, star, cross, ellipse
constexpr int kTextureCount = 5;  // stripes, dots, checker, gradient, noise
constexpr double kBackgroundValues[] = {0.92, 0.66, 0.40};

// HSV (hue in degrees, saturation and value in [0, 1]) to an OpenCV BGR colour.
cv::Vec3d hsv_to_bgr(double hue, double sat, double val) {
  hue = std::fmod(std::fmod(hue, 360.0) + 360.0, 360.0);
  const double c = val * sat;
  const double x = c * (1 - std::fabs(std::fmod(hue / 60.0, 2.0) - 1));
  const double m = val - c;
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(hue / 60.0)) {
    case 0:
      r = c, g = x;
      break;
    case 1:
      r = x, g = c;
      break;
    case 2:
      g = c, b = x;
      break;
    case 3:
      g = x, b = c;
      break;
    case 4:
      r = x, b = c;
      break;
    default:
      r = c, b = x;
      break;
  }
  return {255 * (b + m), 255 * (g + m), 255 * (r + m)};
}

cv::Scalar scalar(const cv::Vec3d& v) { return {v[0], v[1], v[2]}; }

cv::Point polar(cv::Point2d centre, double radius, double angle) {
  return {static_cast<int>(std::lround(centre.x + radius * std::cos(angle))),
          static_cast<int>(std::lround(centre.y + radius * std::sin(angle)))};
}

std::vector<cv::Point> regular_polygon(cv::Point2d centre, double radius, double angle, int corners,
                                       double inner_ratio) {
  std::vector<cv::Point> points;
  const int steps = inner_ratio > 0 ? 2 * corners : corners;
  for (int k = 0; k < steps; ++k) {
    const double r = (inner_ratio > 0 && k % 2) ? radius * inner_ratio : radius;
    points.push_back(polar(centre, r, angle + 2 * kPi * k / steps));
  }
  return points;
}

void draw_shape(cv::Mat& mask, int shape, cv::Point2d centre, double radius, double angle) {
  const cv::Scalar on(255);
  const cv::Point c(static_cast<int>(centre.x), static_cast<int>(centre.y));
  switch (shape) {
    case 0:
      cv::circle(mask, c, static_cast<int>(radius), on, cv::FILLED, cv::LINE_AA);
      break;
    case 1:
      cv::fillConvexPoly(mask, regular_polygon(centre, radius * 1.15, angle, 4, 0), on,
                         cv::LINE_AA);
      break;
    case 2:
      cv::fillConvexPoly(mask, regular_polygon(centre, radius * 1.2, angle, 3, 0), on, cv::LINE_AA);
      break;
    case 3: {
      const std::vector<std::vector<cv::Point>> star = {
          regular_polygon(centre, radius * 1.2, angle, 5, 0.45)};
      cv::fillPoly(mask, star, on, cv::LINE_AA);
      break;
    }
    case 4:
      for (double a : {angle, angle + kPi / 2}) {
        const cv::RotatedRect bar(
            cv::Point2f(static_cast<float>(centre.x), static_cast<float>(centre.y)),
            cv::Size2f(static_cast<float>(2.2 * radius), static_cast<float>(0.7 * radius)),
            static_cast<float>(a * 180 / kPi));
        cv::Point2f corners[4];
        bar.points(corners);
        std::vector<cv::Point> poly(corners, corners + 4);
        cv::fillConvexPoly(mask, poly, on, cv::LINE_AA);
      }
      break;
    default:
      cv::ellipse(mask, c, cv::Size(static_cast<int>(radius * 1.2), static_cast<int>(radius * 0.6)),
                  angle * 180 / kPi, 0, 360, on, cv::FILLED, cv::LINE_AA);
  }
}

// Paints the topic's texture in `ink` over a layer filled with `base`.
void draw_texture(cv::Mat& layer, int texture, const cv::Vec3d& base, const cv::Vec3d& ink,
                  double angle, Rng& rng) {
  const int size = layer.rows;
  const int cell = std::max(3, size / 8 + static_cast<int>(rng.below(3)) - 1);
  layer.setTo(scalar(base));
  switch (texture) {
    case 0: {  // stripes across the whole layer at the topic's angle
      const cv::Point2d dir(std::cos(angle), std::sin(angle)), normal(-dir.y, dir.x);
      const cv::Point2d mid(size / 2.0, size / 2.0);
      for (int k = -size / cell - 1; k <= size / cell + 1; ++k) {
        const cv::Point2d p = mid + normal * static_cast<double>(k * cell);
        cv::line(layer, p - dir * static_cast<double>(size), p + dir * static_cast<double>(size),
                 scalar(ink), std::max(1, cell / 3), cv::LINE_AA);
      }
      break;
    }
    case 1:  // dots on a jittered grid
      for (int y = cell / 2; y < size; y += cell)
        for (int x = cell / 2; x < size; x += cell)
          cv::circle(layer, {x, y}, std::max(1, cell / 4), scalar(ink), cv::FILLED, cv::LINE_AA);
      break;
    case 2:  // checker board
      for (int y = 0; y < size; y += cell)
        for (int x = 0; x < size; x += cell)
          if (((x + y) / cell) % 2)
            cv::rectangle(layer, cv::Rect(x, y, cell, cell), scalar(ink), cv::FILLED);
      break;
    case 3:  // linear gradient from base to ink along the topic's angle
      for (int y = 0; y < size; ++y) {
        auto* row = layer.ptr<cv::Vec3b>(y);
        for (int x = 0; x < size; ++x) {
          const double t =
              0.5 +
              ((x - size / 2.0) * std::cos(angle) + (y - size / 2.0) * std::sin(angle)) / size;
          row[x] = cv::Vec3b(base * (1 - std::clamp(t, 0.0, 1.0)) + ink * std::clamp(t, 0.0, 1.0));
        }
      }
      break;
    default:  // blocky noise between base and ink
      for (int y = 0; y < size; y += cell / 2 + 1)
        for (int x = 0; x < size; x += cell / 2 + 1) {
          const double t = rng.uniform();
          cv::rectangle(layer, cv::Rect(x, y, cell / 2 + 1, cell / 2 + 1),
                        scalar(base * (1 - t) + ink * t), cv::FILLED);
        }
  }
}

// Blends the textured shape over the background through the (anti-aliased) mask, adds noise.
void compose(cv::Mat& image, const cv::Mat& layer, const cv::Mat& mask, const cv::Vec3d& background,
             double noise, Rng& rng) {
  for (int y = 0; y < image.rows; ++y) {
    auto* out = image.ptr<cv::Vec3b>(y);
    const auto* tex = layer.ptr<cv::Vec3b>(y);
    const auto* alpha = mask.ptr<uint8_t>(y);
    for (int x = 0; x < image.cols; ++x) {
      const double a = alpha[x] / 255.0;
      const double n = (2 * rng.uniform() - 1) * noise;
      for (int ch = 0; ch < 3; ++ch)
        out[x][ch] = cv::saturate_cast<uint8_t>(background[ch] * (1 - a) + tex[x][ch] * a + n);
    }
  }
}

}  // namespace

cv::Mat render_item_image(uint64_t seed, int topics, int topic, size_t item_index, int size) {
  PIXELREC_CHECK(topics > 0 && topic >= 0 && topic < topics && size >= 8, "bad image request");
  Rng rng = Rng::stream(seed, {kStreamImage, item_index});
  const double topic_hue = 360.0 * topic / topics;
  const int shape = topic % kShapeCount;
  const int texture = (topic + topic / kShapeCount) % kTextureCount;
  const double topic_angle = kPi * ((topic * 37) % 180) / 180.0;

  const double hue = topic_hue + rng.uniform(-kHueJitterDegrees, kHueJitterDegrees);
  const cv::Vec3d foreground = hsv_to_bgr(hue, rng.uniform(0.65, 0.95), rng.uniform(0.75, 0.95));
  const cv::Vec3d ink = foreground * rng.uniform(0.45, 0.6);
  const cv::Vec3d background =
      hsv_to_bgr(topic_hue + 180 + rng.uniform(-15, 15), rng.uniform(0.15, 0.35),
                 kBackgroundValues[topic % 3] + rng.uniform(-0.06, 0.06));

  const double s = size;
  const cv::Point2d centre(s * rng.uniform(0.38, 0.62), s * rng.uniform(0.38, 0.62));
  const double radius = s * rng.uniform(0.24, 0.34);
  const double angle = topic_angle + rng.uniform(-0.25, 0.25);

  cv::Mat mask = cv::Mat::zeros(size, size, CV_8UC1);
  draw_shape(mask, shape, centre, radius, angle);
  cv::Mat layer(size, size, CV_8UC3);
  draw_texture(layer, texture, foreground, ink, angle, rng);
  cv::Mat image(size, size, CV_8UC3);
  compose(image, layer, mask, background, rng.uniform(3.0, 10.0), rng);
  return image;
}

std::vector<unsigned char> encode_image(const cv::Mat& image, bool png) {
  std::vector<unsigned char> bytes;
  const std::vector<int> params =
      png ? std::vector<int>{} : std::vector<int>{cv::IMWRITE_JPEG_QUALITY, kJpegQuality};
  if (!cv::imencode(png ? ".png" : ".jpg", image, bytes, params))
    throw Error(std::string("OpenCV could not encode a synthetic ") + (png ? "PNG" : "JPEG") +
                " image (check that OpenCV was built with libjpeg and libpng)");
  return bytes;
}

}  // namespace pixelrec::synth
