// The per-step context of the training loop: the seeds of a micro-batch's random draws and the
// mixed-precision scope around its forward pass.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <cstdint>

#include "core/rng.h"

namespace pixelrec::train {

// Dropout, id dropout and the contrastive subset draw from (seed, epoch, batch) and the keys of
// what they drop (BatchDraws), not from the rank: a run resumed mid-epoch, on any number of
// ranks, draws exactly the same. What still draws from torch's generator (attention fusion's
// dropout) is reseeded per micro-batch and rank.
inline uint64_t batch_seed(uint64_t seed, int epoch, int64_t batch) {
  return Rng::stream(seed, {0x4452415753ull /* "DRAWS" */, uint64_t(epoch), uint64_t(batch)})
      .next();
}

inline void seed_batch_generator(uint64_t seed, int epoch, int64_t batch, int rank) {
  Rng rng = Rng::stream(
      seed, {0x544F524348ull /* "TORCH" */, uint64_t(epoch), uint64_t(batch), uint64_t(rank)});
  torch::manual_seed(rng.next() >> 1);
}

// Mixed precision: bfloat16 autocast around the forward pass, on the CPU or the GPU (bfloat16
// keeps float32's range, so no loss scaling is needed).
class AutocastScope {
 public:
  AutocastScope(bool enabled, const torch::Device& device)
      : enabled_(enabled), type_(device.type()) {
    if (!enabled_) return;
    at::autocast::set_autocast_dtype(type_, at::kBFloat16);
    at::autocast::set_autocast_enabled(type_, true);
  }
  ~AutocastScope() {
    if (!enabled_) return;
    at::autocast::set_autocast_enabled(type_, false);
    at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  at::DeviceType type_;
};

}  // namespace pixelrec::train
