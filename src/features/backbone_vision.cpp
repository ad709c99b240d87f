// TorchScript vision backbones: OpenCV decode (BGR → RGB), shorter side resized as Pillow does,
// centre crop, normalised NCHW batches through the frozen module; feature maps are mean-pooled
// over H, W. Images of a batch are decoded on LibTorch's intra-op threads.
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/hash.h"
#include "features/backbone.h"
#include "features/image_resample.h"

namespace pixelrec::features {

namespace {

constexpr size_t kMaxUnusableExamples = 5;

torch::jit::Module load_vision_module(const BackboneFiles& files) {
  try {
    torch::jit::Module module = torch::jit::load(files.module.string(), torch::kCPU);
    module.eval();
    return module;
  } catch (const std::exception& e) {
    throw_unloadable_backbone(files, e.what());
  }
}

class VisionBackbone final : public FeatureExtractor {
 public:
  VisionBackbone(BackboneFiles files, const VisionSidecar& sidecar, int batch_size)
      : files_(std::move(files)),
        sidecar_(sidecar),
        batch_size_(static_cast<size_t>(std::max(batch_size, 1))),
        module_(load_vision_module(files_)) {
    for (size_t c = 0; c < 3; ++c) {
      scale_[c] = static_cast<float>(1.0 / (255.0 * sidecar_.stddev[c]));
      offset_[c] = static_cast<float>(-sidecar_.mean[c] / sidecar_.stddev[c]);
    }
    description_ = describe_json();
  }

  std::string modality() const override { return "image"; }
  int dim() const override { return sidecar_.dim; }
  std::string describe() const override { return description_; }
  // A forward already uses every intra-op thread; concurrent forwards would oversubscribe.
  bool thread_safe() const override { return false; }
  void set_threads(int threads) override { at::set_num_threads(std::max(threads, 1)); }

  ExtractBatchStats extract(const std::vector<const ItemContent*>& batch, float* out,
                            uint8_t* present) override;

 private:
  std::string describe_json() const;
  bool prepare(const std::string& path, float* dst) const;
  void forward(const torch::Tensor& input, const std::vector<size_t>& rows, float* out,
               uint8_t* present);
  torch::Tensor pooled_output(const torch::Tensor& input);

  BackboneFiles files_;
  VisionSidecar sidecar_;
  size_t batch_size_;
  torch::jit::Module module_;
  std::array<float, 3> scale_{};   // 1 / (255 std): pixel byte → normalised value, with offset_
  std::array<float, 3> offset_{};  // -mean / std
  std::string description_;
};

std::string VisionBackbone::describe_json() const {
  const nlohmann::json doc = {{"name", files_.name},
                              {"kind", "torchscript_vision"},
                              {"file", files_.module.string()},
                              {"file_hash", Hasher().add_file_contents(files_.module).hex()},
                              {"input_size", sidecar_.input_size},
                              {"resize", sidecar_.resize},
                              {"mean", sidecar_.mean},
                              {"std", sidecar_.stddev},
                              {"output", sidecar_.output},
                              {"normalize", sidecar_.normalize},
                              {"dim", sidecar_.dim},
                              {"source", nlohmann::json::parse(sidecar_.source)},
                              {"resampling", "pillow_bilinear"}};
  return doc.dump();
}

// Writes normalised RGB planes (3 × S × S floats) to dst; false when the image does not decode.
// EXIF orientation is ignored, as Pillow (and so torchvision's pipeline) ignores it.
bool VisionBackbone::prepare(const std::string& path, float* dst) const {
  const cv::Mat decoded = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  if (decoded.empty()) return false;
  const cv::Mat crop = resize_and_centre_crop(decoded, sidecar_.resize, sidecar_.input_size);
  const int side = sidecar_.input_size;
  const size_t plane = static_cast<size_t>(side) * side;
  for (int y = 0; y < side; ++y) {
    const uint8_t* bgr = crop.ptr<uint8_t>(y);
    float* row = dst + static_cast<size_t>(y) * side;
    for (int x = 0; x < side; ++x, bgr += 3) {
      for (size_t c = 0; c < 3; ++c)
        row[c * plane + x] = static_cast<float>(bgr[2 - c]) * scale_[c] + offset_[c];
    }
  }
  return true;
}

torch::Tensor VisionBackbone::pooled_output(const torch::Tensor& input) {
  torch::jit::IValue result;
  try {
    result = module_.forward({input});
  } catch (const std::exception& e) {
    throw_forward_failure(files_, "images " + shape_string(input.sizes().vec()), e.what());
  }
  const int64_t n = input.size(0), d = sidecar_.dim;
  const bool feature_map = sidecar_.output == "feature_map";
  const std::string expected = feature_map ? "[" + std::to_string(n) + ", " + std::to_string(d) +
                                                 ", H, W] (output \"feature_map\")"
                                           : shape_string({n, d}) + " (output \"pooled\")";
  if (!result.isTensor()) throw_output_mismatch(files_, expected, "a " + result.tagKind());
  const torch::Tensor y = result.toTensor();
  const bool ok = feature_map ? y.dim() == 4 && y.size(0) == n && y.size(1) == d
                              : y.dim() == 2 && y.size(0) == n && y.size(1) == d;
  if (!ok) throw_output_mismatch(files_, expected, "shape " + shape_string(y.sizes().vec()));
  torch::Tensor pooled = (feature_map ? y.mean({2, 3}) : y).to(torch::kFloat);
  // As torch.nn.functional.normalize(p=2, dim=1) does.
  if (sidecar_.normalize) pooled = pooled / pooled.norm(2, 1, true).clamp_min(1e-12);
  return pooled.contiguous();
}

void VisionBackbone::forward(const torch::Tensor& input, const std::vector<size_t>& rows,
                             float* out, uint8_t* present) {
  c10::InferenceMode inference;
  const torch::Tensor pooled = pooled_output(input);
  const float* src = pooled.data_ptr<float>();
  const size_t d = static_cast<size_t>(sidecar_.dim);
  for (size_t k = 0; k < rows.size(); ++k) {
    std::memcpy(out + rows[k] * d, src + k * d, d * sizeof(float));
    present[rows[k]] = 1;
  }
}

ExtractBatchStats VisionBackbone::extract(const std::vector<const ItemContent*>& batch, float* out,
                                          uint8_t* present) {
  ExtractBatchStats stats;
  std::fill(out, out + batch.size() * static_cast<size_t>(sidecar_.dim), 0.0f);
  std::fill(present, present + batch.size(), uint8_t{0});
  const int64_t side = sidecar_.input_size;
  const int64_t capacity = static_cast<int64_t>(std::min(batch_size_, batch.size()));
  torch::Tensor input = torch::empty({capacity, 3, side, side}, torch::kFloat);
  const size_t image_floats = static_cast<size_t>(3 * side * side);
  std::vector<size_t> rows;  // batch index of each input slot
  std::vector<uint8_t> decoded;
  rows.reserve(static_cast<size_t>(capacity));
  for (size_t begin = 0; begin < batch.size(); begin += batch_size_) {
    rows.clear();
    const size_t end = std::min(batch.size(), begin + batch_size_);
    for (size_t i = begin; i < end; ++i)
      if (!batch[i]->image_path.empty()) rows.push_back(i);  // no image: presence 0, not unusable
    decoded.assign(rows.size(), 0);
    float* slots = input.data_ptr<float>();
    at::parallel_for(0, static_cast<int64_t>(rows.size()), 1, [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k)
        decoded[k] = prepare(batch[rows[k]]->image_path, slots + k * image_floats) ? 1 : 0;
    });
    size_t kept = 0;  // images that decoded, moved to the front in order
    for (size_t k = 0; k < rows.size(); ++k) {
      if (decoded[k]) {
        if (kept != k)
          std::memcpy(slots + kept * image_floats, slots + k * image_floats,
                      image_floats * sizeof(float));
        rows[kept++] = rows[k];
        continue;
      }
      const ItemContent& item = *batch[rows[k]];
      ++stats.unusable_inputs;
      if (stats.unusable_examples.size() < kMaxUnusableExamples)
        stats.unusable_examples.push_back("item " + item.id + ": image '" + item.image_path +
                                          "' cannot be read or decoded");
    }
    rows.resize(kept);
    if (!rows.empty())
      forward(input.narrow(0, 0, static_cast<int64_t>(rows.size())), rows, out, present);
  }
  return stats;
}

}  // namespace

std::unique_ptr<FeatureExtractor> make_vision_backbone(const BackboneFiles& files,
                                                       const VisionSidecar& sidecar,
                                                       const FeaturesConfig& features) {
  return std::make_unique<VisionBackbone>(files, sidecar, features.batch_size);
}

}  // namespace pixelrec::features
