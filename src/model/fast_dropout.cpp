#include "model/fast_dropout.h"

#include <cmath>
#include <limits>

#include "core/rng.h"

namespace pixelrec::model {

FastDropoutImpl::FastDropoutImpl(double p) : p_(p) {}

torch::Tensor dropout_mask(int64_t numel, double p, uint64_t seed) {
  torch::Tensor mask = torch::empty({numel});
  float* out = mask.data_ptr<float>();
  const auto threshold = uint32_t(std::lround(p * 65536.0));  // drop when the 16 bits < threshold
  const float keep = float(1.0 / (1.0 - p));
  Rng rng(seed);
  int64_t i = 0;
  for (; i + 4 <= numel; i += 4) {
    const uint64_t bits = rng.next();
    for (int k = 0; k < 4; ++k)
      out[i + k] = uint32_t((bits >> (16 * k)) & 0xFFFF) < threshold ? 0.0f : keep;
  }
  for (uint64_t bits = rng.next(); i < numel; ++i, bits >>= 16)
    out[i] = uint32_t(bits & 0xFFFF) < threshold ? 0.0f : keep;
  return mask;
}

torch::Tensor FastDropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p_ <= 0.0 || !torch::GradMode::is_enabled()) return x;
  const uint64_t seed = uint64_t(
      torch::randint(std::numeric_limits<int64_t>::max(), {1}, torch::kLong).item<int64_t>());
  return x * dropout_mask(x.numel(), p_, seed).view(x.sizes()).to(x.device(), x.scalar_type());
}

}  // namespace pixelrec::model
