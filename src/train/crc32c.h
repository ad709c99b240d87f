// CRC-32C (Castagnoli), the checksum TensorBoard event files (TFRecord framing) use, and its
// "masked" form that TFRecord stores so that CRCs of data containing CRCs stay well distributed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pixelrec::train {

// CRC-32C of `size` bytes; pass a previous result as `crc` to continue over split buffers:
// crc32c(b, nb, crc32c(a, na)) == crc32c(a followed by b).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

// ((crc >> 15) | (crc << 17)) + 0xa282ead8 of the CRC-32C of the bytes.
uint32_t masked_crc32c(const void* data, size_t size);

}  // namespace pixelrec::train
