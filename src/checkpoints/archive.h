// `checkpoints archive`: one run's checkpoints (best, last, optionally epoch_*), their sidecars,
// the run's config.yaml/metrics.jsonl/metrics.csv and a MANIFEST.json (bytes, SHA-256, sidecar
// metadata) in a gzip'd POSIX pax archive `<run>/...`, written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace pixelrec::checkpoints {

namespace fs = std::filesystem;

inline constexpr std::string_view kManifestFormat = "pixelrec-checkpoint-archive";
inline constexpr std::string_view kManifestName = "MANIFEST.json";

struct ArchiveOptions {
  std::string run;
  fs::path output;       // empty: "<run>.tar.gz" in the working directory
  fs::path results_dir;  // <results_dir>/<run>/ adds config.yaml, metrics.jsonl, metrics.csv
  bool include_epochs = false;
  bool overwrite = false;  // replace an existing output file
  int threads = 1;         // for reading sidecars
};

struct ArchivedFile {
  std::string name;  // inside the archive, e.g. "demo/best.pt"
  uint64_t bytes = 0;
  std::string sha256;
};

struct ArchiveResult {
  fs::path output;
  std::vector<ArchivedFile> files;  // in archive order, MANIFEST.json (last) excluded
  uint64_t bytes_in = 0;            // tar stream
  uint64_t bytes_out = 0;           // gzip file
};

// Throws Error (nothing written) when the run has no checkpoint in <dir>/<run>/, a selected
// checkpoint is torn or has an invalid sidecar, a file cannot be read whole, or the
// output exists without `overwrite`. A checkpoint without sidecar is archived with a warning.
ArchiveResult archive_run(const fs::path& checkpoint_dir, const ArchiveOptions& options,
                          std::ostream& out);

}  // namespace pixelrec::checkpoints
