#include "checkpoints/archive.h"

#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "checkpoints/catalogue.h"
#include "checkpoints/sha256.h"
#include "checkpoints/tar_gz_writer.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/strings.h"

namespace pixelrec::checkpoints {
namespace {

using nlohmann::json;

// zlib's default level: float tensors shrink ~7% at any level, and 6 costs no more time on them.
constexpr int kGzipLevel = 6;
constexpr const char* kRunResultFiles[] = {"config.yaml", "metrics.jsonl", "metrics.csv"};

// One file to archive; small files (sidecars) are held in memory so the bytes archived, hashed
// and parsed into the manifest are the same bytes.
struct PlannedFile {
  std::string name;  // inside the archive
  fs::path path;
  uint64_t bytes = 0;
  int64_t mtime = 0;
  std::optional<std::string> contents;
  bool checkpoint = false;
  std::optional<std::string> sidecar_name;  // the checkpoint's sidecar inside the archive
};

int64_t modification_time(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw Error("cannot stat '" + path.string() + "' for the archive (was it just deleted?)");
  return static_cast<int64_t>(info.st_mtime);
}

PlannedFile plan_file(const std::string& name, const fs::path& path, bool in_memory) {
  PlannedFile f;
  f.name = name;
  f.path = path;
  f.mtime = modification_time(path);
  if (in_memory) {
    f.contents = read_file(path, "file to archive");
    f.bytes = f.contents->size();
  } else {
    std::error_code ec;
    f.bytes = static_cast<uint64_t>(fs::file_size(path, ec));
    if (ec) throw Error("cannot read the size of '" + path.string() + "': " + ec.message());
  }
  return f;
}

bool selected(const CatalogueEntry& e, bool include_epochs) {
  return e.kind == CheckpointKind::kBest || e.kind == CheckpointKind::kLast ||
         (include_epochs && e.kind == CheckpointKind::kEpoch);
}

std::vector<PlannedFile> plan_archive(const Catalogue& catalogue, const ArchiveOptions& options,
                                      std::ostream& out) {
  const std::string& run = options.run;
  std::vector<PlannedFile> files;
  for (const auto& e : catalogue.entries) {
    if (e.run != run || e.status == EntryStatus::kOrphanSidecar) continue;
    if (!e.in_run_folder()) {
      out << "warning: skipping " << e.relative.string() << ": not in the run folder " << run
          << "/ (run `pixelrec checkpoints organize` first)\n";
      continue;
    }
    if (!selected(e, options.include_epochs)) continue;
    if (e.status == EntryStatus::kInvalidSidecar || e.status == EntryStatus::kSizeMismatch)
      throw Error("will not archive '" + (catalogue.root / e.relative).string() +
                  "': " + std::string(status_name(e.status)) + " (" + e.detail +
                  "); repair or delete it first");
    const std::string base = run + "/" + e.relative.filename().string();
    PlannedFile checkpoint = plan_file(base, catalogue.root / e.relative, false);
    checkpoint.checkpoint = true;
    if (e.status == EntryStatus::kMissingSidecar) {
      out << "warning: " << e.relative.string() << " has no sidecar; archived without metadata\n";
      files.push_back(std::move(checkpoint));
      continue;
    }
    const fs::path sidecar = sidecar_path_for(e.relative);
    checkpoint.sidecar_name = run + "/" + sidecar.filename().string();
    files.push_back(std::move(checkpoint));
    files.push_back(plan_file(*files.back().sidecar_name, catalogue.root / sidecar, true));
  }
  if (files.empty())
    throw Error("run '" + run + "' has no checkpoint to archive in '" +
                (catalogue.root / run).string() + "'" +
                (options.include_epochs ? ""
                                        : " (only best.pt and last.pt are archived unless "
                                          "--include-epochs)"));
  const fs::path results = options.results_dir / run;
  for (const char* name : kRunResultFiles) {
    std::error_code ec;
    if (!options.results_dir.empty() && fs::is_regular_file(results / name, ec))
      files.push_back(plan_file(run + "/" + name, results / name, false));
  }
  return files;
}

json manifest_entry(const PlannedFile& f, const std::string& sha256,
                    const std::vector<PlannedFile>& files) {
  json entry = {{"file", f.name}, {"bytes", f.bytes}, {"sha256", sha256}};
  if (!f.checkpoint) return entry;
  entry["metadata"] = nullptr;
  for (const auto& other : files)
    if (f.sidecar_name && other.name == *f.sidecar_name)
      entry["metadata"] = json::parse(*other.contents);
  return entry;
}

}  // namespace

ArchiveResult archive_run(const fs::path& checkpoint_dir, const ArchiveOptions& options,
                          std::ostream& out) {
  if (!is_valid_run_name(options.run))
    throw UsageError("--run '" + options.run + "' is not a run name (a folder name under " +
                     checkpoint_dir.string() + ")");
  ArchiveResult result;
  result.output = options.output.empty() ? fs::path(options.run + ".tar.gz") : options.output;
  std::error_code ec;
  if (fs::exists(result.output, ec) && !options.overwrite)
    throw Error("'" + result.output.string() +
                "' already exists: pass --overwrite to replace it or choose another --output");
  const Catalogue catalogue = scan_catalogue(checkpoint_dir, options.threads);
  require_run(catalogue, options.run);
  const std::vector<PlannedFile> files = plan_archive(catalogue, options, out);
  int64_t newest = 0;
  for (const auto& f : files) newest = std::max(newest, f.mtime);

  json manifest = {
      {"format", kManifestFormat}, {"version", 1}, {"run", options.run}, {"files", json::array()}};
  write_stream_atomic(result.output, [&](std::ostream& stream) {
    TarGzWriter tar(stream, kGzipLevel);
    tar.add_directory(options.run, newest);
    for (const auto& f : files) {
      Sha256 hash;
      if (f.contents) {
        hash.update(*f.contents);
        tar.add_bytes(f.name, *f.contents, f.mtime);
      } else {
        tar.add_file(f.name, f.path, f.bytes, f.mtime,
                     [&](const char* data, size_t size) { hash.update(data, size); });
      }
      const std::string digest = hash.hex_digest();
      out << "add " << f.name << " (" << human_bytes(static_cast<double>(f.bytes)) << ")\n";
      manifest["files"].push_back(manifest_entry(f, digest, files));
      result.files.push_back({f.name, f.bytes, digest});
    }
    // Last, because it holds the digests computed while streaming the files above.
    tar.add_bytes(options.run + "/" + std::string(kManifestName), manifest.dump(2) + "\n", newest);
    tar.finish();
    result.bytes_in = tar.bytes_in();
    result.bytes_out = tar.bytes_out();
  });
  out << "wrote " << result.output.string() << ": " << result.files.size() + 1 << " files, "
      << human_bytes(static_cast<double>(result.bytes_in)) << " -> "
      << human_bytes(static_cast<double>(result.bytes_out)) << "\n";
  return result;
}

}  // namespace pixelrec::checkpoints
