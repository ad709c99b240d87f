#include "data/image_check.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace pixelrec {

namespace {

constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

uint8_t byte_at(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }

uint32_t be16(std::string_view s, size_t i) {
  return (static_cast<uint32_t>(byte_at(s, i)) << 8) | byte_at(s, i + 1);
}

uint32_t be32(std::string_view s, size_t i) { return (be16(s, i) << 16) | be16(s, i + 2); }

bool is_sof_marker(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

std::optional<ImageSize> jpeg_size(std::string_view s) {
  size_t i = 2;
  while (i + 4 <= s.size()) {
    if (byte_at(s, i) != 0xFF) return std::nullopt;
    while (i < s.size() && byte_at(s, i) == 0xFF) ++i;  // fill bytes
    if (i >= s.size()) return std::nullopt;
    const uint8_t marker = byte_at(s, i++);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length field
    if (marker == 0xDA || marker == 0xD9 || i + 2 > s.size()) return std::nullopt;
    const uint32_t length = be16(s, i);
    if (is_sof_marker(marker)) {
      if (i + 7 > s.size()) return std::nullopt;
      return ImageSize{static_cast<int>(be16(s, i + 5)), static_cast<int>(be16(s, i + 3))};
    }
    i += length;
  }
  return std::nullopt;
}

std::optional<ImageSize> png_size(std::string_view s) {
  if (s.size() < 24 || s.substr(12, 4) != "IHDR") return std::nullopt;
  const uint32_t width = be32(s, 16), height = be32(s, 20);
  if (width > INT32_MAX || height > INT32_MAX) return std::nullopt;
  return ImageSize{static_cast<int>(width), static_cast<int>(height)};
}

cv::Mat decode(std::string_view bytes, int flags) {
  if (bytes.empty()) return {};
  // imdecode only reads the buffer; cv::Mat has no const view, hence the cast.
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1,
                        const_cast<char*>(bytes.data()));
  return cv::imdecode(encoded, flags);
}

}  // namespace

ImageFormat sniff_image_format(std::string_view bytes) {
  if (bytes.size() >= 3 && byte_at(bytes, 0) == 0xFF && byte_at(bytes, 1) == 0xD8 &&
      byte_at(bytes, 2) == 0xFF)
    return ImageFormat::kJpeg;
  if (bytes.substr(0, kPngSignature.size()) == kPngSignature) return ImageFormat::kPng;
  return ImageFormat::kUnknown;
}

bool is_structurally_complete(std::string_view bytes, ImageFormat format) {
  if (format == ImageFormat::kJpeg) {
    size_t end = bytes.size();
    while (end > 0 && (byte_at(bytes, end - 1) == 0x00 || byte_at(bytes, end - 1) == 0xFF)) --end;
    return end >= 4 && byte_at(bytes, end - 2) == 0xFF && byte_at(bytes, end - 1) == 0xD9;
  }
  if (format == ImageFormat::kPng) {
    // IEND is a zero-length chunk: 4 length bytes (0), "IEND", 4 CRC bytes.
    const size_t pos = bytes.rfind("IEND");
    return pos != std::string_view::npos && pos >= kPngSignature.size() + 4 &&
           pos + 8 <= bytes.size() && be32(bytes, pos - 4) == 0;
  }
  return false;
}

std::optional<ImageSize> read_image_size(std::string_view bytes) {
  switch (sniff_image_format(bytes)) {
    case ImageFormat::kJpeg:
      return jpeg_size(bytes);
    case ImageFormat::kPng:
      return png_size(bytes);
    case ImageFormat::kUnknown:
      break;
  }
  return std::nullopt;
}

ImageCheckResult check_image(std::string_view bytes, const ImageValidationConfig& config) {
  ImageCheckResult result;
  const ImageFormat format = sniff_image_format(bytes);
  if (format == ImageFormat::kUnknown) {
    result.reason = kImageUndecodable;
    return result;
  }
  if (config.check_corrupted) {
    if (!is_structurally_complete(bytes, format)) {
      result.reason = kImageTruncated;
      return result;
    }
    // Grayscale still decodes the whole file, at a third of the cost of colour for a JPEG.
    const cv::Mat pixels = decode(bytes, cv::IMREAD_GRAYSCALE);
    if (pixels.empty()) {
      result.reason = kImageUndecodable;
      return result;
    }
    result.size = {pixels.cols, pixels.rows};
  } else {
    const auto size = read_image_size(bytes);
    if (!size) {
      result.reason = kImageUndecodable;
      return result;
    }
    result.size = *size;
  }
  if (result.size.width < config.min_width || result.size.height < config.min_height)
    result.reason = kImageTooSmall;
  return result;
}

bool needs_recompression(size_t file_bytes, ImageSize size, const ImageCompressionConfig& config) {
  if (!config.enabled) return false;
  if (file_bytes > static_cast<size_t>(config.compress_if_kb_larger_than) * 1024) return true;
  const auto& limit = config.resize_if_pixels_larger_than;
  return limit && limit->size() >= 2 && (size.width > (*limit)[0] || size.height > (*limit)[1]);
}

bool recompress_to_jpeg(std::string_view bytes, const ImageCompressionConfig& config,
                        std::vector<unsigned char>& out) {
  const cv::Mat pixels = decode(bytes, cv::IMREAD_COLOR);
  if (pixels.empty()) return false;
  const int longest = std::max(pixels.cols, pixels.rows);
  const auto& target = config.resize_target_longest_edge;
  cv::Mat scaled;
  if (target && *target > 0 && *target < longest) {
    const double scale = static_cast<double>(*target) / longest;
    const cv::Size size(std::max(1, static_cast<int>(std::lround(pixels.cols * scale))),
                        std::max(1, static_cast<int>(std::lround(pixels.rows * scale))));
    cv::resize(pixels, scaled, size, 0, 0, cv::INTER_AREA);
  } else {
    scaled = pixels;
  }
  const std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, config.target_quality};
  PIXELREC_CHECK(cv::imencode(".jpg", scaled, out, params), "JPEG encoding failed");
  return true;
}

}  // namespace pixelrec
