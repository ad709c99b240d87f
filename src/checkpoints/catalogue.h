// The checkpoint catalogue: every *.pt under the checkpoint dir paired with its X.meta.json
// sidecar and checked (sidecar present and valid, file size equal to the recorded bytes). Files
// with a problem become entries with a status, never dropped. list/organize/cleanup/archive use it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoints/sidecar.h"

namespace pixelrec::checkpoints {

// The generated view organize builds; never scanned and never a run name.
inline constexpr std::string_view kByModelFolder = "by_model";

enum class CheckpointKind { kBest, kLast, kEpoch, kOther };
enum class EntryStatus {
  kOk,
  kMissingSidecar,  // X.pt without X.meta.json
  kInvalidSidecar,  // unreadable, not JSON, wrong format/version/fields, or describes another file
  kSizeMismatch,    // the file's size differs from the sidecar's bytes: a torn copy
  kOrphanSidecar,   // X.meta.json without X.pt
};

std::string_view kind_name(CheckpointKind kind);
std::string_view status_name(EntryStatus status);

struct CatalogueEntry {
  fs::path relative;  // to the checkpoint dir, e.g. "demo/last.pt" (the sidecar when orphaned)
  std::string run;    // the sidecar's run_name; else the parent folder's name; else "" (top level)
  CheckpointKind kind = CheckpointKind::kOther;  // the sidecar's kind; else from the file name
  std::optional<int64_t> epoch;                  // the sidecar's epoch; else E of epoch_<E>.pt
  uint64_t bytes = 0;                            // the .pt on disk (0 when orphaned)
  uint64_t sidecar_bytes = 0;                    // the sidecar on disk (0 when missing)
  EntryStatus status = EntryStatus::kOk;
  std::string detail;               // why the status is not ok
  std::optional<SidecarMeta> meta;  // the parsed sidecar (kept for size mismatches too)

  bool ok() const { return status == EntryStatus::kOk; }
  // Directly in <checkpoint dir>/<run>/, where the trainer puts a run's checkpoints.
  bool in_run_folder() const;
};

struct Catalogue {
  fs::path root;
  // Sorted by run, then best, last, epoch files by epoch, other files, then path.
  std::vector<CatalogueEntry> entries;

  uint64_t total_bytes() const;  // checkpoints and sidecars
  size_t problem_count() const;
  size_t misplaced_count() const;         // ok entries not in their run folder
  std::vector<std::string> runs() const;  // distinct non-empty run names, sorted
};

// Walks `checkpoint_dir` recursively (not by_model/, hidden folders or symlinks); sidecars are
// read and checked on `threads` threads, with a result independent of the thread count. Throws
// Error when the folder does not exist or cannot be read.
Catalogue scan_catalogue(const fs::path& checkpoint_dir, int threads);

// Throws Error naming the known runs (and the closest one) when `run` has no entry.
void require_run(const Catalogue& catalogue, const std::string& run);

}  // namespace pixelrec::checkpoints
