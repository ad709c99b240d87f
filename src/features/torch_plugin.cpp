#include "features/torch_plugin.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/errors.h"

namespace pixelrec::features {

namespace {

constexpr const char* kPluginFile = "libpixelrec_torch_backbones.so";

std::filesystem::path plugin_path() {
  if (const char* dir = std::getenv("PIXELREC_PLUGIN_DIR"))
    return std::filesystem::path(dir) / kPluginFile;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path(".") : exe.parent_path()) / kPluginFile;
}

TorchBackbonePlugin load_plugin() {
  const auto path = plugin_path();
  // The plugin's extractors stay alive until exit, so it is never unloaded.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw Error("cannot load the TorchScript backbone plugin '" + path.string() +
                "': " + (why ? why : "unknown error") +
                " (it is built with pixelrec by `make`; set PIXELREC_PLUGIN_DIR if it lives "
                "elsewhere)");
  }
  TorchBackbonePlugin plugin;
  plugin.vision = reinterpret_cast<TorchBackbonePlugin::VisionEntry>(
      ::dlsym(handle, "pixelrec_make_vision_backbone"));
  plugin.text = reinterpret_cast<TorchBackbonePlugin::TextEntry>(
      ::dlsym(handle, "pixelrec_make_text_backbone"));
  if (!plugin.vision || !plugin.text)
    throw Error("'" + path.string() +
                "' is not a pixelrec backbone plugin (entry points missing); "
                "rebuild it with `make`");
  return plugin;
}

}  // namespace

std::unique_ptr<FeatureExtractor> TorchBackbonePlugin::make_vision(
    const BackboneFiles& files, const VisionSidecar& sidecar,
    const FeaturesConfig& features) const {
  return std::unique_ptr<FeatureExtractor>(vision(files, sidecar, features));
}

std::unique_ptr<FeatureExtractor> TorchBackbonePlugin::make_text(
    const BackboneFiles& files, const TextSidecar& sidecar, const FeaturesConfig& features) const {
  return std::unique_ptr<FeatureExtractor>(text(files, sidecar, features));
}

const TorchBackbonePlugin& torch_backbone_plugin() {
  static std::once_flag once;
  static TorchBackbonePlugin plugin;
  std::call_once(once, [] { plugin = load_plugin(); });
  return plugin;
}

}  // namespace pixelrec::features
