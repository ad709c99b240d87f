// Inverted dropout with masks from our own xoshiro stream, 4 decisions per 64-bit draw. LibTorch's
// CPU dropout (bernoulli_) cost more than the matmul it follows (23 ms vs 4.4 ms for a 2048×512
// activation, docs/benchmarks.md). The stream's seed is drawn from torch's generator, which the
// trainer reseeds per batch, so masks stay reproducible and resume stays exact. p is applied with
// 1/65536 resolution.
#pragma once

#include <torch/torch.h>

namespace pixelrec::model {

// Dropout draws that name their rows: row r's mask comes from (seed, rows[r]) alone, so a row (an
// item, a pair's place in the global batch) is dropped alike whichever rank computes it and
// whichever rows share its batch: N ranks drop exactly what one process drops.
struct DropoutKeys {
  uint64_t seed = 0;
  torch::Tensor rows;  // int64 [R] on the CPU; undefined: masks from torch's generator
  bool defined() const { return rows.defined(); }
  // The same rows under an independent seed, one per place that draws (a layer, a modality).
  DropoutKeys site(uint64_t id) const;
};

class FastDropoutImpl : public torch::nn::Module {
 public:
  explicit FastDropoutImpl(double p = 0.5);
  // `keys`, when defined, name x's rows (x is [rows, width]).
  torch::Tensor forward(const torch::Tensor& x, const DropoutKeys& keys = {});
  double p() const { return p_; }

 private:
  double p_;
};
TORCH_MODULE(FastDropout);

// The scaled keep-mask (0 or 1/(1-p)) for `numel` elements, float32, from `seed`.
torch::Tensor dropout_mask(int64_t numel, double p, uint64_t seed);
// The scaled keep-mask [keys.rows.size(0), width] of keyed rows.
torch::Tensor keyed_dropout_mask(const DropoutKeys& keys, int64_t width, double p);

}  // namespace pixelrec::model
