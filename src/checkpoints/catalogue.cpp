#include "checkpoints/catalogue.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "checkpoints/commit.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/parallel.h"
#include "core/strings.h"

namespace pixelrec::checkpoints {
namespace {

// last.pt → last, best.pt → best, epoch_0007.pt → epoch 7, anything else → other.
std::pair<CheckpointKind, std::optional<int64_t>> kind_from_name(std::string_view stem) {
  if (stem == "last") return {CheckpointKind::kLast, std::nullopt};
  if (stem == "best") return {CheckpointKind::kBest, std::nullopt};
  if (starts_with(stem, "epoch_")) {
    const std::string_view digits = stem.substr(6);
    const bool all_digits =
        !digits.empty() &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (all_digits) return {CheckpointKind::kEpoch, parse_int(digits)};
  }
  return {CheckpointKind::kOther, std::nullopt};
}

CheckpointKind kind_from_sidecar(const std::string& kind) {
  if (kind == "last") return CheckpointKind::kLast;
  if (kind == "best") return CheckpointKind::kBest;
  return CheckpointKind::kEpoch;
}

std::string stem_without(const std::string& name, std::string_view suffix) {
  return name.substr(0, name.size() - suffix.size());
}

uint64_t file_size_or_zero(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

void describe_with_sidecar(const std::string& name, const std::string& text,
                           const std::string& sidecar_name, CatalogueEntry& entry);

void describe_checkpoint(const fs::path& root, CatalogueEntry& entry) {
  const fs::path path = root / entry.relative;
  const std::string name = entry.relative.filename().string();
  const auto [kind, epoch] = kind_from_name(stem_without(name, kCheckpointSuffix));
  entry.kind = kind;
  entry.epoch = epoch;
  entry.bytes = file_size_or_zero(path);
  const fs::path sidecar = sidecar_path_for(path);
  // A commit a crash interrupted after the checkpoint was written: its pending sidecar describes
  // the file (the next `pixelrec train --resume` of the run renames it into place).
  if (auto pending = committed_pending_sidecar(path)) {
    entry.sidecar_bytes = pending->size();
    describe_with_sidecar(name, *pending, pending_sidecar_path_for(path).filename().string(),
                          entry);
    return;
  }
  std::error_code ec;
  if (!fs::exists(sidecar, ec)) {
    entry.status = EntryStatus::kMissingSidecar;
    entry.detail = "no sidecar " + sidecar.filename().string();
    return;
  }
  entry.sidecar_bytes = file_size_or_zero(sidecar);
  std::string text;
  try {
    text = read_file(sidecar, "checkpoint sidecar");
  } catch (const Error& e) {
    entry.status = EntryStatus::kInvalidSidecar;
    entry.detail = sidecar.filename().string() + ": " + e.what();
    return;
  }
  describe_with_sidecar(name, text, sidecar.filename().string(), entry);
}

// The entry of checkpoint `name` described by the sidecar text `text` (read from `sidecar_name`).
void describe_with_sidecar(const std::string& name, const std::string& text,
                           const std::string& sidecar_name, CatalogueEntry& entry) {
  SidecarMeta meta;
  try {
    meta = parse_sidecar(text);
  } catch (const Error& e) {
    entry.status = EntryStatus::kInvalidSidecar;
    entry.detail = sidecar_name + ": " + e.what();
    return;
  }
  if (meta.file != name) {
    entry.status = EntryStatus::kInvalidSidecar;
    entry.detail = sidecar_name + " describes '" + meta.file + "', not '" + name +
                   "' (renamed or overwritten by hand?)";
    return;
  }
  entry.run = meta.run_name;
  entry.kind = kind_from_sidecar(meta.kind);
  entry.epoch = meta.epoch;
  if (meta.bytes != entry.bytes) {
    entry.status = EntryStatus::kSizeMismatch;
    entry.detail = "file has " + std::to_string(entry.bytes) + " bytes, sidecar records " +
                   std::to_string(meta.bytes) + "; a torn or partial copy: copy it again";
  }
  entry.meta = std::move(meta);
}

void describe_orphan(const fs::path& root, CatalogueEntry& entry) {
  const std::string name = entry.relative.filename().string();
  const auto [kind, epoch] = kind_from_name(stem_without(name, kSidecarSuffix));
  entry.kind = kind;
  entry.epoch = epoch;
  entry.sidecar_bytes = file_size_or_zero(root / entry.relative);
  entry.status = EntryStatus::kOrphanSidecar;
  entry.detail = "no checkpoint " + checkpoint_path_for(entry.relative).filename().string() +
                 " beside it (deleted, or not copied yet)";
}

int kind_rank(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::kBest:
      return 0;
    case CheckpointKind::kLast:
      return 1;
    case CheckpointKind::kEpoch:
      return 2;
    case CheckpointKind::kOther:
      return 3;
  }
  return 3;
}

}  // namespace

std::string_view kind_name(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::kBest:
      return "best";
    case CheckpointKind::kLast:
      return "last";
    case CheckpointKind::kEpoch:
      return "epoch";
    case CheckpointKind::kOther:
      return "other";
  }
  return "other";
}

std::string_view status_name(EntryStatus status) {
  switch (status) {
    case EntryStatus::kOk:
      return "ok";
    case EntryStatus::kMissingSidecar:
      return "missing_sidecar";
    case EntryStatus::kInvalidSidecar:
      return "invalid_sidecar";
    case EntryStatus::kSizeMismatch:
      return "size_mismatch";
    case EntryStatus::kOrphanSidecar:
      return "orphan_sidecar";
  }
  return "invalid_sidecar";
}

bool CatalogueEntry::in_run_folder() const {
  return !run.empty() && relative.parent_path() == fs::path(run);
}

uint64_t Catalogue::total_bytes() const {
  uint64_t total = 0;
  for (const auto& e : entries) total += e.bytes + e.sidecar_bytes;
  return total;
}

size_t Catalogue::problem_count() const {
  return static_cast<size_t>(
      std::count_if(entries.begin(), entries.end(), [](const auto& e) { return !e.ok(); }));
}

size_t Catalogue::misplaced_count() const {
  return static_cast<size_t>(std::count_if(
      entries.begin(), entries.end(), [](const auto& e) { return e.ok() && !e.in_run_folder(); }));
}

std::vector<std::string> Catalogue::runs() const {
  std::set<std::string> names;
  for (const auto& e : entries)
    if (!e.run.empty()) names.insert(e.run);
  return {names.begin(), names.end()};
}

Catalogue scan_catalogue(const fs::path& checkpoint_dir, int threads) {
  std::error_code ec;
  if (!fs::is_directory(checkpoint_dir, ec))
    throw Error("checkpoint folder '" + checkpoint_dir.string() +
                "' does not exist: set checkpoint_dir in your config or pass --dir DIR");
  std::set<fs::path> checkpoints, sidecars;
  fs::recursive_directory_iterator it(checkpoint_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool symlink = it->is_symlink(ec);
    if (it->is_directory(ec) && !symlink) {
      if (name.front() == '.' || (it.depth() == 0 && name == kByModelFolder))
        it.disable_recursion_pending();
      continue;
    }
    if (symlink || !it->is_regular_file(ec) || name.front() == '.') continue;
    const fs::path relative = it->path().lexically_relative(checkpoint_dir);
    if (ends_with(name, kSidecarSuffix)) {
      sidecars.insert(relative);
    } else if (ends_with(name, kCheckpointSuffix)) {
      checkpoints.insert(relative);
    }
  }
  if (ec)
    throw Error("cannot read the checkpoint folder '" + checkpoint_dir.string() +
                "': " + ec.message() + " (check its permissions)");

  Catalogue catalogue;
  catalogue.root = checkpoint_dir;
  const auto add_entry = [&](const fs::path& relative) {
    catalogue.entries.emplace_back();
    catalogue.entries.back().relative = relative;
  };
  for (const auto& relative : checkpoints) add_entry(relative);
  const size_t checkpoint_count = catalogue.entries.size();
  for (const auto& relative : sidecars)
    if (!checkpoints.count(checkpoint_path_for(relative))) add_entry(relative);

  parallel_for(catalogue.entries.size(), threads, [&](size_t i) {
    CatalogueEntry& entry = catalogue.entries[i];
    const fs::path parent = entry.relative.parent_path();
    entry.run = parent.empty() ? "" : parent.filename().string();
    if (i < checkpoint_count) {
      describe_checkpoint(checkpoint_dir, entry);
    } else {
      describe_orphan(checkpoint_dir, entry);
    }
  });
  std::sort(catalogue.entries.begin(), catalogue.entries.end(),
            [](const CatalogueEntry& a, const CatalogueEntry& b) {
              return std::forward_as_tuple(a.run, kind_rank(a.kind), a.epoch, a.relative) <
                     std::forward_as_tuple(b.run, kind_rank(b.kind), b.epoch, b.relative);
            });
  return catalogue;
}

void require_run(const Catalogue& catalogue, const std::string& run) {
  const auto runs = catalogue.runs();
  if (std::find(runs.begin(), runs.end(), run) != runs.end()) return;
  std::string message =
      "no checkpoints of run '" + run + "' under '" + catalogue.root.string() + "'";
  if (runs.empty()) throw Error(message + " (the folder holds no checkpoints)");
  message += "; runs: " + join(runs, ", ");
  if (const auto close = closest_match(run, runs)) message += " (did you mean '" + *close + "'?)";
  throw Error(message);
}

}  // namespace pixelrec::checkpoints
