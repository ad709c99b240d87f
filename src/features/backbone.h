// Pretrained TorchScript backbones (SPEC §5): a name such as "resnet" or "bert" resolves to
// <model.backbone_dir>/<name>.pt, exported by tools/export_backbones.py, plus a <name>.json sidecar
// that says how to prepare inputs and read outputs. LibTorch stays inside the .cpp files.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "features/extractor.h"

namespace pixelrec::features {

// The names model.vision_model / model.language_model accept for backbones.
const std::vector<std::string>& vision_backbone_names();
const std::vector<std::string>& text_backbone_names();

struct BackboneFiles {
  std::string name;                    // "resnet", "bert", ...
  std::filesystem::path backbone_dir;  // model.backbone_dir
  std::filesystem::path module;        // <backbone_dir>/<name>.pt
  std::filesystem::path sidecar;       // <backbone_dir>/<name>.json
};

// The files of a named backbone. Throws Error naming the missing file and the export command.
BackboneFiles locate_backbone(const std::string& name, const std::filesystem::path& backbone_dir);

// "python3 tools/export_backbones.py --model <name> --out <backbone_dir>": every error about a
// missing or broken backbone ends with it.
std::string export_command(const BackboneFiles& files);

// Sidecar of a vision backbone: {"kind": "vision", "input_size", "resize", "mean", "std",
// "output": "pooled" | "feature_map", "dim", optional "normalize" and "source"}.
struct VisionSidecar {
  int input_size = 224;            // centre crop edge fed to the model
  int resize = 256;                // the shorter image side is resized to this first
  std::array<double, 3> mean{};    // RGB, on [0, 1] pixel values ("mean" in the JSON)
  std::array<double, 3> stddev{};  // "std" in the JSON
  std::string output = "pooled";   // pooled: [B, D]; feature_map: [B, D, H, W], mean-pooled
  bool normalize = false;          // L2-normalise each pooled vector
  int dim = 0;
  std::string source = "{}";  // JSON object: where the weights come from, their licence
};

// Sidecar of a text backbone: {"kind": "text", "vocab", "lowercase", "strip_accents",
// "max_length", "output": "token_embeddings" | "pooled", "dim", optional "pooling",
// "normalize" and "source"}.
struct TextSidecar {
  std::string vocab;  // WordPiece vocab file name, next to the .pt
  bool lowercase = true;
  bool strip_accents = true;
  int max_length = 128;  // tokens per text including [CLS]/[SEP]
  // token_embeddings: [B, T, H], pooled here as `pooling` says; pooled: [B, H], used as is
  std::string output = "token_embeddings";
  std::string pooling = "mean";  // mean: masked mean over real tokens; cls: the first token
  bool normalize = false;  // L2-normalise each pooled vector (sentence-transformers' Normalize)
  int dim = 0;
  std::string source = "{}";  // JSON object: where the weights come from, their licence
};

// Reads and validates a sidecar. Throws Error naming the file, the key and the fix.
VisionSidecar read_vision_sidecar(const BackboneFiles& files);
TextSidecar read_text_sidecar(const BackboneFiles& files);

// The TorchScript extractors; features.batch_size items per forward pass. The text extractor
// uses min(sidecar.max_length, features.text_max_length) tokens and batches texts of similar
// length together. Throw Error when the module or the vocab cannot be loaded.
std::unique_ptr<FeatureExtractor> make_vision_backbone(const BackboneFiles& files,
                                                       const VisionSidecar& sidecar,
                                                       const FeaturesConfig& features);
std::unique_ptr<FeatureExtractor> make_text_backbone(const BackboneFiles& files,
                                                     const TextSidecar& sidecar,
                                                     const FeaturesConfig& features);

// Errors shared by both extractors; each names the .pt file and ends with the fix.
[[noreturn]] void throw_unloadable_backbone(const BackboneFiles& files, const std::string& cause);
[[noreturn]] void throw_forward_failure(const BackboneFiles& files, const std::string& inputs,
                                        const std::string& cause);
// `actual` is what the module returned, e.g. shape_string({8, 512}) or "a tuple".
[[noreturn]] void throw_output_mismatch(const BackboneFiles& files, const std::string& expected,
                                        const std::string& actual);
std::string shape_string(const std::vector<int64_t>& sizes);  // "[8, 512]"

}  // namespace pixelrec::features
