#include "checkpoints/listing.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/errors.h"
#include "core/strings.h"

namespace pixelrec::checkpoints {
namespace {

using nlohmann::json;

constexpr const char* kNone = "-";

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", value);
  return text;
}

// A status cell: "ok", "ok (misplaced)" or the problem.
std::string status_cell(const CatalogueEntry& e) {
  if (e.ok()) return e.in_run_folder() ? "ok" : "ok (misplaced)";
  return std::string(status_name(e.status));
}

std::vector<std::string> table_row(const CatalogueEntry& e) {
  const SidecarMeta* m = e.meta ? &*e.meta : nullptr;
  const auto value = m ? m->monitored_value() : std::nullopt;
  return {e.run.empty() ? kNone : e.run,
          e.relative.string(),
          std::string(kind_name(e.kind)),
          e.epoch ? std::to_string(*e.epoch) : kNone,
          m && !m->monitored_metric.empty() ? m->monitored_metric : kNone,
          value ? format_number(*value) : kNone,
          m && m->best_epoch ? std::to_string(*m->best_epoch) : kNone,
          human_bytes(static_cast<double>(e.bytes)),
          m ? m->saved_at : kNone,
          m ? m->config_fingerprint : kNone,
          status_cell(e)};
}

void print_table(const std::vector<const CatalogueEntry*>& rows, std::ostream& out) {
  std::vector<std::vector<std::string>> cells = {{"RUN", "FILE", "KIND", "EPOCH", "METRIC", "VALUE",
                                                  "BEST_EPOCH", "SIZE", "SAVED_AT", "CONFIG",
                                                  "STATUS"}};
  for (const auto* e : rows) cells.push_back(table_row(*e));
  std::vector<size_t> widths(cells.front().size(), 0);
  for (const auto& row : cells)
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  for (const auto& row : cells) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    out << line << "\n";
  }
  for (const auto* e : rows)
    if (!e->ok())
      out << status_name(e->status) << ": " << e->relative.string() << ": " << e->detail << "\n";
}

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json optional_json(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

json entry_json(const CatalogueEntry& e) {
  json row = {{"run", e.run.empty() ? json(nullptr) : json(e.run)},
              {"file", e.relative.string()},
              {"kind", kind_name(e.kind)},
              {"epoch", optional_json(e.epoch)},
              {"bytes", e.bytes},
              {"sidecar_bytes", e.sidecar_bytes},
              {"status", status_name(e.status)},
              {"in_run_folder", e.in_run_folder()},
              {"detail", e.detail}};
  const SidecarMeta* m = e.meta ? &*e.meta : nullptr;
  row["global_step"] = m ? json(m->global_step) : json(nullptr);
  row["monitored_metric"] = m ? json(m->monitored_metric) : json(nullptr);
  row["metric_value"] = optional_json(m ? m->monitored_value() : std::nullopt);
  row["best_value"] = optional_json(m ? m->best_value : std::nullopt);
  row["best_epoch"] = optional_json(m ? m->best_epoch : std::nullopt);
  row["saved_at"] = m ? json(m->saved_at) : json(nullptr);
  row["config_fingerprint"] = m ? json(m->config_fingerprint) : json(nullptr);
  row["finished"] = m ? json(m->finished) : json(nullptr);
  return row;
}

}  // namespace

ListFormat parse_list_format(std::string_view name) {
  if (name == "table") return ListFormat::kTable;
  if (name == "json") return ListFormat::kJson;
  throw UsageError("--format '" + std::string(name) + "' is not one of: table, json");
}

void print_listing(const Catalogue& catalogue, const std::string& run, ListFormat format,
                   std::ostream& out) {
  if (!run.empty()) require_run(catalogue, run);
  std::vector<const CatalogueEntry*> rows;
  uint64_t bytes = 0;
  size_t problems = 0, misplaced = 0;
  for (const auto& e : catalogue.entries) {
    if (!run.empty() && e.run != run) continue;
    rows.push_back(&e);
    bytes += e.bytes + e.sidecar_bytes;
    problems += e.ok() ? 0 : 1;
    misplaced += e.ok() && !e.in_run_folder() ? 1 : 0;
  }
  if (format == ListFormat::kJson) {
    json doc = {{"checkpoint_dir", catalogue.root.string()}, {"checkpoints", json::array()}};
    for (const auto* e : rows) doc["checkpoints"].push_back(entry_json(*e));
    doc["totals"] = {
        {"files", rows.size()}, {"bytes", bytes}, {"problems", problems}, {"misplaced", misplaced}};
    out << doc.dump(2) << "\n";
    return;
  }
  if (rows.empty()) {
    out << "no checkpoints under " << catalogue.root.string() << "\n";
  } else {
    print_table(rows, out);
  }
  out << "total: " << rows.size() << " files, " << human_bytes(static_cast<double>(bytes)) << " ("
      << bytes << " bytes), " << problems << " problems";
  if (misplaced > 0) out << ", " << misplaced << " misplaced (`pixelrec checkpoints organize`)";
  out << "\n";
}

}  // namespace pixelrec::checkpoints
