#include "checkpoints/commit.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "checkpoints/sidecar.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/strings.h"
#include "core/temp_files.h"

namespace pixelrec::checkpoints {

namespace {

constexpr std::string_view kPendingSuffix = ".next";

// The content_hash recorded in a pending sidecar's text; empty when it has none or is unreadable.
std::string recorded_hash(const std::string& text) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) return "";
  const auto it = doc.find("content_hash");
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

fs::path pending_sidecar_path_for(const fs::path& checkpoint) {
  return checkpoint.parent_path() /
         ("." + sidecar_path_for(checkpoint).filename().string() + std::string(kPendingSuffix));
}

std::string checkpoint_content_hash(std::string_view bytes) { return Hasher().add(bytes).hex(); }

std::string checkpoint_file_hash(const fs::path& checkpoint) {
  return checkpoint_content_hash(read_file(checkpoint, "checkpoint"));
}

std::optional<std::string> committed_pending_sidecar(const fs::path& checkpoint) {
  const fs::path pending = pending_sidecar_path_for(checkpoint);
  std::error_code ec;
  if (!fs::exists(pending, ec) || !fs::exists(checkpoint, ec)) return std::nullopt;
  try {
    std::string text = read_file(pending, "pending checkpoint sidecar");
    const std::string hash = recorded_hash(text);
    if (!hash.empty() && hash == checkpoint_file_hash(checkpoint)) return text;
  } catch (const std::exception&) {  // unreadable: treated as not committed
  }
  return std::nullopt;
}

size_t recover_interrupted_commits(const fs::path& dir) {
  const std::string suffix = std::string(kSidecarSuffix) + std::string(kPendingSuffix);
  std::vector<fs::path> pending;  // collected first: resolving them changes the folder
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > suffix.size() + 1 && name.front() == '.' && ends_with(name, suffix))
      pending.push_back(it->path());
  }
  for (const fs::path& path : pending) {
    const std::string name = path.filename().string();
    const fs::path checkpoint =
        dir / (name.substr(1, name.size() - 1 - suffix.size()) + std::string(kCheckpointSuffix));
    const fs::path sidecar = sidecar_path_for(checkpoint);
    if (committed_pending_sidecar(checkpoint)) {
      sync_and_rename(path, sidecar);
      spdlog::warn(
          "{}: a crash interrupted its commit after the checkpoint was written; its sidecar {} "
          "now describes it",
          checkpoint.string(), sidecar.filename().string());
    } else {
      std::error_code removal;
      fs::remove(path, removal);
      spdlog::warn(
          "{}: a crash interrupted its commit before the checkpoint was replaced; the previous "
          "checkpoint and its sidecar are kept",
          checkpoint.string());
    }
  }
  return pending.size();
}

}  // namespace pixelrec::checkpoints
