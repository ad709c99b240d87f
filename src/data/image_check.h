// Image validation and re-encoding for preprocess (SPEC §3 step 3): a structural completeness
// check (libjpeg decodes a truncated JPEG without complaint), full decoding, the minimum size, and
// the downscale + JPEG re-encode that data.offline_image_compression asks for.
#pragma once

#include <cstddef>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace pixelrec {

// Reject reasons for images (rejects.csv and the report use these exact strings).
inline constexpr const char* kImageMissing = "image_missing";
inline constexpr const char* kImageUnreadable = "image_unreadable";
inline constexpr const char* kImageTruncated = "image_truncated";
inline constexpr const char* kImageUndecodable = "image_undecodable";
inline constexpr const char* kImageTooSmall = "image_too_small";

enum class ImageFormat { kJpeg, kPng, kUnknown };

// The format from the file signature (never from the file name).
ImageFormat sniff_image_format(std::string_view bytes);

// JPEG: ends with the EOI marker FF D9 (trailing 00/FF padding allowed); PNG: holds an IEND chunk.
bool is_structurally_complete(std::string_view bytes, ImageFormat format);

struct ImageSize {
  int width = 0;
  int height = 0;
};

// Width and height from the JPEG SOF segment or the PNG IHDR chunk, without decoding.
std::optional<ImageSize> read_image_size(std::string_view bytes);

struct ImageCheckResult {
  const char* reason = nullptr;  // nullptr: valid; otherwise one of the kImage* reasons
  ImageSize size;
  bool ok() const { return reason == nullptr; }
};

// Validates one image file held in memory. With check_corrupted on, the file must be complete
// and decode; with it off only the header is read. Then the minimum width/height apply.
ImageCheckResult check_image(std::string_view bytes, const ImageValidationConfig& config);

// Whether data.offline_image_compression asks to re-encode an image of this size.
bool needs_recompression(size_t file_bytes, ImageSize size, const ImageCompressionConfig& config);

// Decodes an image file, downscales it (INTER_AREA, never up) so the longest edge is at most
// resize_target_longest_edge, and encodes a JPEG at target_quality into `out`. False when the
// file cannot be decoded.
bool recompress_to_jpeg(std::string_view bytes, const ImageCompressionConfig& config,
                        std::vector<unsigned char>& out);

}  // namespace pixelrec
