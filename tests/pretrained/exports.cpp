#include "pretrained/exports.h"

#include "support/test_support.h"

namespace pixelrec::test {

std::filesystem::path backbone_export_dir() { return PIXELREC_BACKBONE_EXPORT_DIR; }
std::string torch_python() { return PIXELREC_TORCH_PYTHON; }

ExportsState pretrained_exports() {
  const fs::path dir = backbone_export_dir();
  ExportsState state;
  std::string missing;
  for (const char* file : {"sentence-bert.pt", "sentence-bert.json", "sentence-bert_vocab.txt",
                           "efficientnet-lite0.pt", "efficientnet-lite0.json"})
    if (!fs::is_regular_file(dir / file))
      missing += (missing.empty() ? "" : ", ") + std::string(file);
  if (missing.empty()) return state;
  if (fs::is_regular_file(dir / "UNAVAILABLE")) {
    state.skip_reason = read_text(dir / "UNAVAILABLE");
    return state;
  }
  state.failure = "the pretrained backbone exports are missing from " + dir.string() + " (" +
                  missing + "); run `make backbones` (scripts/install_backbones.sh)";
  return state;
}

}  // namespace pixelrec::test
