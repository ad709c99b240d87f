// How a checkpoint X.pt and its sidecar X.meta.json are committed together, and how a commit a
// crash interrupted is resolved. The order: (1) the new sidecar is written to .X.meta.json.next,
// recording the new checkpoint's content hash; (2) X.pt is replaced atomically; (3) the pending
// sidecar is renamed to X.meta.json. Each step is flushed to disk. After a crash, a pending
// sidecar whose hash matches X.pt means step 2 happened (the commit is completed by renaming it);
// otherwise X.pt and X.meta.json are still the previous, consistent pair (the pending one is
// dropped).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pixelrec::checkpoints {

namespace fs = std::filesystem;

// "dir/X.pt" → "dir/.X.meta.json.next".
fs::path pending_sidecar_path_for(const fs::path& checkpoint);

// The hash recorded as the sidecar's content_hash (core/hash.h over the file's bytes).
std::string checkpoint_content_hash(std::string_view bytes);
std::string checkpoint_file_hash(const fs::path& checkpoint);

// Read-only: the text of the pending sidecar of `checkpoint` when its commit reached step 2 (its
// content_hash matches the file), i.e. what X.meta.json will hold once recovered.
std::optional<std::string> committed_pending_sidecar(const fs::path& checkpoint);

// Resolves every interrupted commit in `dir` (see above); logs a warning per checkpoint saying
// which way it went. Returns the number of pending sidecars resolved.
size_t recover_interrupted_commits(const fs::path& dir);

}  // namespace pixelrec::checkpoints
