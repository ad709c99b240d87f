// The extractor factory (model.vision_model / model.language_model → an extractor) and the
// backbone file layout and sidecar parsing. No LibTorch here: the TorchScript extractors live in
// the plugin libpixelrec_torch_backbones.so (backbone_vision.cpp, backbone_text.cpp), loaded on
// first use so that commands which never touch a backbone do not pay LibTorch's start-up.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>

#include "core/errors.h"
#include "core/files.h"
#include "core/strings.h"
#include "features/backbone.h"
#include "features/image_builtin.h"
#include "features/imported.h"
#include "features/text_builtin.h"
#include "features/torch_plugin.h"

namespace pixelrec::features {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kImportPrefix = "import:";

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The cause of a LibTorch exception without its C++ backtrace.
std::string first_line(const std::string& text) {
  return std::string(trim(std::string_view(text).substr(0, text.find('\n'))));
}

bool file_exists(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// sentence-bert and efficientnet-lite0 come from PyPI wheels (tools/backbones-requirements.txt).
bool packaged_on_pypi(const std::string& name) {
  return name == "sentence-bert" || name == "efficientnet-lite0";
}

[[noreturn]] void throw_missing(const BackboneFiles& files, const fs::path& missing,
                                const std::string& what) {
  const std::string fix =
      packaged_on_pypi(files.name)
          ? "create it with `make backbones` (it installs '" + files.name +
                "' from PyPI, exports it offline and links it into models/backbones) or, for "
                "another folder, `" +
                export_command(files) +
                "` in the Python that has the packages of tools/backbones-requirements.txt (see "
                "docs/backbones.md)"
          : "create it with `" + export_command(files) +
                "` on a machine that has the weights (see docs/backbones.md)";
  throw Error("backbone '" + files.name + "': " + what + " '" + missing.string() +
              "' does not exist; " + fix);
}

[[noreturn]] void throw_bad_key(const BackboneFiles& files, const std::string& key,
                                const std::string& allowed) {
  throw Error("backbone sidecar '" + files.sidecar.string() + "': key \"" + key +
              "\" is missing or invalid (expected " + allowed + "); re-create it with `" +
              export_command(files) + "`");
}

json parse_sidecar(const BackboneFiles& files, const std::string& kind) {
  json doc;
  try {
    doc = json::parse(read_file(files.sidecar, "backbone sidecar"));
  } catch (const json::parse_error& e) {
    throw Error("backbone sidecar '" + files.sidecar.string() + "' is not valid JSON (" + e.what() +
                "); re-create it with `" + export_command(files) + "`");
  }
  if (!doc.is_object())
    throw_bad_key(files, "kind", "a JSON object with \"kind\": \"" + kind + "\"");
  if (doc.value("kind", std::string()) != kind) throw_bad_key(files, "kind", "\"" + kind + "\"");
  return doc;
}

int int_key(const BackboneFiles& files, const json& doc, const std::string& key, int min) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer() || it->get<int64_t>() < min ||
      it->get<int64_t>() > (1 << 20))
    throw_bad_key(files, key, "an integer >= " + std::to_string(min));
  return it->get<int>();
}

bool bool_key(const BackboneFiles& files, const json& doc, const std::string& key) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_boolean()) throw_bad_key(files, key, "true or false");
  return it->get<bool>();
}

std::string choice_key(const BackboneFiles& files, const json& doc, const std::string& key,
                       const std::vector<std::string>& allowed) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_string() || !contains(allowed, it->get<std::string>()))
    throw_bad_key(files, key, "one of \"" + join(allowed, "\", \"") + "\"");
  return it->get<std::string>();
}

bool optional_bool_key(const BackboneFiles& files, const json& doc, const std::string& key,
                       bool fallback) {
  return doc.contains(key) ? bool_key(files, doc, key) : fallback;
}

// "source": an object describing the weights (package, version, licence), kept in describe().
std::string source_key(const BackboneFiles& files, const json& doc) {
  const auto it = doc.find("source");
  if (it == doc.end()) return "{}";
  if (!it->is_object()) throw_bad_key(files, "source", "a JSON object");
  return it->dump();
}

std::array<double, 3> rgb_key(const BackboneFiles& files, const json& doc, const std::string& key,
                              bool positive) {
  const auto it = doc.find(key);
  const std::string allowed = positive ? "3 positive numbers (R, G, B)" : "3 numbers (R, G, B)";
  if (it == doc.end() || !it->is_array() || it->size() != 3) throw_bad_key(files, key, allowed);
  std::array<double, 3> values{};
  for (size_t c = 0; c < 3; ++c) {
    const json& v = (*it)[c];
    if (!v.is_number() || (positive && v.get<double>() <= 0)) throw_bad_key(files, key, allowed);
    values[c] = v.get<double>();
  }
  return values;
}

std::unique_ptr<FeatureExtractor> make_vision(const Config& config) {
  const BackboneFiles files = locate_backbone(config.model.vision_model, config.model.backbone_dir);
  return torch_backbone_plugin().make_vision(files, read_vision_sidecar(files), config.features);
}

std::unique_ptr<FeatureExtractor> make_text(const Config& config) {
  const BackboneFiles files =
      locate_backbone(config.model.language_model, config.model.backbone_dir);
  return torch_backbone_plugin().make_text(files, read_text_sidecar(files), config.features);
}

[[noreturn]] void throw_unknown(const std::string& key, const std::string& value,
                                const std::vector<std::string>& names) {
  throw Error(key + ": unknown extractor '" + value + "'; use builtin, none, import:PATH or a " +
              "backbone name (" + join(names, ", ") + ")");
}

}  // namespace

const std::vector<std::string>& vision_backbone_names() {
  static const std::vector<std::string> names = {"efficientnet-lite0", "resnet", "clip", "dino",
                                                 "convnext"};
  return names;
}

const std::vector<std::string>& text_backbone_names() {
  static const std::vector<std::string> names = {"sentence-bert", "mpnet", "bert", "roberta"};
  return names;
}

std::string export_command(const BackboneFiles& files) {
  return "python3 tools/export_backbones.py --model " + files.name + " --out " +
         files.backbone_dir.string();
}

BackboneFiles locate_backbone(const std::string& name, const fs::path& backbone_dir) {
  BackboneFiles files{name, backbone_dir, backbone_dir / (name + ".pt"),
                      backbone_dir / (name + ".json")};
  if (!file_exists(files.module)) throw_missing(files, files.module, "TorchScript file");
  if (!file_exists(files.sidecar)) throw_missing(files, files.sidecar, "sidecar");
  return files;
}

VisionSidecar read_vision_sidecar(const BackboneFiles& files) {
  const json doc = parse_sidecar(files, "vision");
  VisionSidecar s;
  s.input_size = int_key(files, doc, "input_size", 1);
  s.resize = int_key(files, doc, "resize", s.input_size);
  s.mean = rgb_key(files, doc, "mean", false);
  s.stddev = rgb_key(files, doc, "std", true);
  s.output = choice_key(files, doc, "output", {"pooled", "feature_map"});
  s.normalize = optional_bool_key(files, doc, "normalize", false);
  s.dim = int_key(files, doc, "dim", 1);
  s.source = source_key(files, doc);
  return s;
}

TextSidecar read_text_sidecar(const BackboneFiles& files) {
  const json doc = parse_sidecar(files, "text");
  TextSidecar s;
  const auto vocab = doc.find("vocab");
  if (vocab == doc.end() || !vocab->is_string() || vocab->get<std::string>().empty())
    throw_bad_key(files, "vocab", "the vocab file name, next to the .pt");
  s.vocab = vocab->get<std::string>();
  if (!file_exists(files.backbone_dir / s.vocab))
    throw_missing(files, files.backbone_dir / s.vocab, "vocab file");
  s.lowercase = bool_key(files, doc, "lowercase");
  s.strip_accents = bool_key(files, doc, "strip_accents");
  s.max_length = int_key(files, doc, "max_length", 3);  // [CLS], one piece, [SEP]
  s.output = choice_key(files, doc, "output", {"token_embeddings", "pooled"});
  const std::vector<std::string> poolings = s.output == "pooled"
                                                ? std::vector<std::string>{"none"}
                                                : std::vector<std::string>{"mean", "cls"};
  s.pooling = doc.contains("pooling") ? choice_key(files, doc, "pooling", poolings) : poolings[0];
  s.normalize = optional_bool_key(files, doc, "normalize", false);
  s.dim = int_key(files, doc, "dim", 1);
  s.source = source_key(files, doc);
  return s;
}

void throw_unloadable_backbone(const BackboneFiles& files, const std::string& cause) {
  throw Error("cannot load TorchScript backbone '" + files.module.string() + "' (" +
              first_line(cause) + "); re-create it with `" + export_command(files) + "`");
}

void throw_forward_failure(const BackboneFiles& files, const std::string& inputs,
                           const std::string& cause) {
  throw Error("backbone '" + files.module.string() + "' failed on inputs " + inputs + " (" +
              first_line(cause) + "); check the sidecar '" + files.sidecar.string() +
              "' or re-create both with `" + export_command(files) + "`");
}

void throw_output_mismatch(const BackboneFiles& files, const std::string& expected,
                           const std::string& actual) {
  throw Error("backbone '" + files.module.string() + "' returned " + actual + ", expected " +
              expected + " (from the sidecar '" + files.sidecar.string() +
              "'); fix \"dim\"/\"output\" there or re-create both with `" + export_command(files) +
              "`");
}

std::string shape_string(const std::vector<int64_t>& sizes) {
  std::vector<std::string> dims;
  dims.reserve(sizes.size());
  for (const int64_t d : sizes) dims.push_back(std::to_string(d));
  return "[" + join(dims, ", ") + "]";
}

std::unique_ptr<FeatureExtractor> make_image_extractor(const Config& config) {
  const std::string& name = config.model.vision_model;
  if (name == "none") return nullptr;
  if (name == "builtin") return make_builtin_image_extractor(config.features);
  if (starts_with(name, kImportPrefix))
    return make_imported_extractor("image", name.substr(kImportPrefix.size()));
  if (contains(vision_backbone_names(), name)) return make_vision(config);
  throw_unknown("model.vision_model", name, vision_backbone_names());
}

std::unique_ptr<FeatureExtractor> make_text_extractor(const Config& config) {
  const std::string& name = config.model.language_model;
  if (name == "none") return nullptr;
  if (name == "builtin") return make_builtin_text_extractor(config.features);
  if (starts_with(name, kImportPrefix))
    return make_imported_extractor("text", name.substr(kImportPrefix.size()));
  if (contains(text_backbone_names(), name)) return make_text(config);
  throw_unknown("model.language_model", name, text_backbone_names());
}

}  // namespace pixelrec::features
