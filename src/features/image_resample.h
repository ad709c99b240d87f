// Image resizing that reproduces Pillow's Image.resize(size, Image.BILINEAR) bit for bit: what
// torchvision's Resize applies to PIL images, so the pixels pretrained backbones were evaluated on.
// Unlike OpenCV's INTER_LINEAR it antialiases when shrinking (the triangle filter is widened by the
// scale factor).
#pragma once

#include <opencv2/core.hpp>

namespace pixelrec::features {

// `image`: 8-bit, 1 to 4 channels; returns an image of the same type at `size`.
cv::Mat resize_like_pillow(const cv::Mat& image, cv::Size size);

// torchvision's Resize(shorter) then CenterCrop(crop) on a PIL image: the shorter side becomes
// `shorter` (the longer one scaled and truncated), resized as Pillow does, then the centre
// crop × crop square (offsets rounded half to even, as Python's round()). Needs shorter >= crop.
cv::Mat resize_and_centre_crop(const cv::Mat& image, int shorter, int crop);

}  // namespace pixelrec::features
