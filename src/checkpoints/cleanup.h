// `checkpoints cleanup`: per run folder keep best.pt, last.pt and the N most recent epoch_*.pt
// (by epoch), delete the other epoch checkpoints with their sidecars. A run without an intact
// best and last keeps everything; files with a problem are never deleted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "checkpoints/catalogue.h"

namespace pixelrec::checkpoints {

struct CleanupOptions {
  std::string run;       // empty: every run
  int keep_recent = 0;   // epoch checkpoints kept besides best and last
  bool dry_run = false;  // print what would go, delete nothing
  int threads = 1;       // for reading sidecars
};

struct CleanupRemoval {
  fs::path checkpoint;  // relative to the checkpoint dir; its sidecar goes too
  uint64_t bytes = 0;   // checkpoint + sidecar
};

struct CleanupPlan {
  std::vector<CleanupRemoval> removals;  // in catalogue order
  std::vector<std::string> kept;         // one line per run: what stays
  std::vector<std::string> warnings;     // runs kept whole, files with problems
  uint64_t bytes_freed() const;
};

// Decides, without touching the disk. Throws UsageError when keep_recent < 0 and Error when
// `run` is given but unknown.
CleanupPlan plan_cleanup(const Catalogue& catalogue, const std::string& run, int keep_recent);

// Scans, plans, prints every removal, warning and the bytes freed, and (unless dry_run) deletes.
CleanupPlan cleanup_checkpoints(const fs::path& checkpoint_dir, const CleanupOptions& options,
                                std::ostream& out);

}  // namespace pixelrec::checkpoints
