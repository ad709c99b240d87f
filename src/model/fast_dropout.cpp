#include "model/fast_dropout.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/rng.h"

namespace pixelrec::model {

namespace {

// `n` mask values from `rng`: 0 where the 16-bit draw < p * 65536, else 1/(1-p).
void fill_mask(float* out, int64_t n, double p, Rng& rng) {
  const auto threshold = uint32_t(std::lround(p * 65536.0));
  const float keep = float(1.0 / (1.0 - p));
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint64_t bits = rng.next();
    for (int k = 0; k < 4; ++k)
      out[i + k] = uint32_t((bits >> (16 * k)) & 0xFFFF) < threshold ? 0.0f : keep;
  }
  for (uint64_t bits = rng.next(); i < n; ++i, bits >>= 16)
    out[i] = uint32_t(bits & 0xFFFF) < threshold ? 0.0f : keep;
}

}  // namespace

DropoutKeys DropoutKeys::site(uint64_t id) const {
  return {Rng::stream(seed, {0x44524F50ull /* "DROP" */, id}).next(), rows};
}

FastDropoutImpl::FastDropoutImpl(double p) : p_(p) {}

torch::Tensor dropout_mask(int64_t numel, double p, uint64_t seed) {
  torch::Tensor mask = torch::empty({numel});
  Rng rng(seed);
  fill_mask(mask.data_ptr<float>(), numel, p, rng);
  return mask;
}

torch::Tensor keyed_dropout_mask(const DropoutKeys& keys, int64_t width, double p) {
  const torch::Tensor rows = keys.rows.to(torch::kCPU, torch::kLong).contiguous();
  torch::Tensor mask = torch::empty({rows.size(0), width});
  const int64_t* key = rows.data_ptr<int64_t>();
  float* out = mask.data_ptr<float>();
  at::parallel_for(0, rows.size(0), 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      Rng rng = Rng::stream(keys.seed, {uint64_t(key[r])});
      fill_mask(out + r * width, width, p, rng);
    }
  });
  return mask;
}

torch::Tensor FastDropoutImpl::forward(const torch::Tensor& x, const DropoutKeys& keys) {
  if (!is_training() || p_ <= 0.0 || !torch::GradMode::is_enabled()) return x;
  if (keys.defined()) {
    PIXELREC_CHECK(x.dim() == 2 && keys.rows.size(0) == x.size(0), "dropout keys: one per row");
    return x * keyed_dropout_mask(keys, x.size(1), p_).to(x.device(), x.scalar_type());
  }
  const uint64_t seed = uint64_t(
      torch::randint(std::numeric_limits<int64_t>::max(), {1}, torch::kLong).item<int64_t>());
  return x * dropout_mask(x.numel(), p_, seed).view(x.sizes()).to(x.device(), x.scalar_type());
}

}  // namespace pixelrec::model
