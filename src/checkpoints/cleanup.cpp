#include "checkpoints/cleanup.h"

#include <algorithm>
#include <map>

#include "core/errors.h"
#include "core/strings.h"

namespace pixelrec::checkpoints {
namespace {

// The checkpoints directly in one run folder.
using RunFolder = std::vector<const CatalogueEntry*>;

bool has_intact(const RunFolder& folder, CheckpointKind kind) {
  return std::any_of(folder.begin(), folder.end(),
                     [&](const CatalogueEntry* e) { return e->ok() && e->kind == kind; });
}

void plan_run(const std::string& run, const RunFolder& folder, int keep_recent, CleanupPlan& plan) {
  for (const auto* e : folder)
    if (!e->ok())
      plan.warnings.push_back("keeping " + e->relative.string() + ": " +
                              std::string(status_name(e->status)) + " (" + e->detail + ")");
  const bool best = has_intact(folder, CheckpointKind::kBest);
  const bool last = has_intact(folder, CheckpointKind::kLast);
  if (!best || !last) {
    plan.warnings.push_back("run " + run + " has no intact " +
                            (best   ? "last.pt"
                             : last ? "best.pt"
                                    : "best.pt or last.pt") +
                            ": keeping all its checkpoints");
    return;
  }
  RunFolder epochs;
  for (const auto* e : folder)
    if (e->ok() && e->kind == CheckpointKind::kEpoch) epochs.push_back(e);
  // Most recent first; the catalogue order (path) breaks ties so the plan is deterministic.
  std::stable_sort(epochs.begin(), epochs.end(), [](const auto* a, const auto* b) {
    return a->epoch.value_or(-1) > b->epoch.value_or(-1);
  });
  std::vector<std::string> kept = {"best.pt", "last.pt"};
  for (size_t i = 0; i < epochs.size(); ++i) {
    if (i < static_cast<size_t>(keep_recent)) {
      kept.push_back(epochs[i]->relative.filename().string());
    } else {
      plan.removals.push_back({epochs[i]->relative, epochs[i]->bytes + epochs[i]->sidecar_bytes});
    }
  }
  plan.kept.push_back("run " + run + ": keeping " + join(kept, ", "));
}

}  // namespace

uint64_t CleanupPlan::bytes_freed() const {
  uint64_t total = 0;
  for (const auto& r : removals) total += r.bytes;
  return total;
}

CleanupPlan plan_cleanup(const Catalogue& catalogue, const std::string& run, int keep_recent) {
  if (keep_recent < 0)
    throw UsageError("--keep-recent " + std::to_string(keep_recent) +
                     " is negative: give the number of epoch checkpoints to keep (0 or more)");
  if (!run.empty()) require_run(catalogue, run);
  std::map<std::string, RunFolder> folders;
  CleanupPlan plan;
  for (const auto& e : catalogue.entries) {
    if (!run.empty() && e.run != run) continue;
    if (e.in_run_folder()) {
      folders[e.run].push_back(&e);
    } else if (e.ok()) {
      plan.warnings.push_back("skipping " + e.relative.string() + ": not in its run folder " +
                              e.run + "/ (run `pixelrec checkpoints organize` first)");
    }
  }
  for (const auto& [name, folder] : folders) plan_run(name, folder, keep_recent, plan);
  std::sort(plan.removals.begin(), plan.removals.end(),
            [](const auto& a, const auto& b) { return a.checkpoint < b.checkpoint; });
  return plan;
}

CleanupPlan cleanup_checkpoints(const fs::path& checkpoint_dir, const CleanupOptions& options,
                                std::ostream& out) {
  const Catalogue catalogue = scan_catalogue(checkpoint_dir, options.threads);
  const CleanupPlan plan = plan_cleanup(catalogue, options.run, options.keep_recent);
  for (const auto& w : plan.warnings) out << "warning: " << w << "\n";
  for (const auto& k : plan.kept) out << k << "\n";
  const char* verb = options.dry_run ? "would remove " : "remove ";
  for (const auto& r : plan.removals) {
    out << verb << r.checkpoint.string() << " and " << sidecar_path_for(r.checkpoint).string()
        << " (" << human_bytes(static_cast<double>(r.bytes)) << ")\n";
    if (options.dry_run) continue;
    for (const fs::path& file : {r.checkpoint, sidecar_path_for(r.checkpoint)}) {
      std::error_code ec;
      fs::remove(checkpoint_dir / file, ec);
      if (ec)
        throw Error("cannot delete '" + (checkpoint_dir / file).string() + "': " + ec.message() +
                    " (check its permissions; the removals printed before this one were done)");
    }
  }
  out << (options.dry_run ? "would free " : "freed ")
      << human_bytes(static_cast<double>(plan.bytes_freed())) << " (" << plan.bytes_freed()
      << " bytes) in " << plan.removals.size() << " checkpoints\n";
  return plan;
}

}  // namespace pixelrec::checkpoints
