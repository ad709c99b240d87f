// What preprocess tells the user and its next run: rejects.csv / repairs.csv, the output paths,
// the fingerprint that makes it idempotent, and preprocess_report.json.
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "core/hash.h"
#include "data/preprocess.h"

namespace pixelrec {

namespace {

// Bump when the processed files change for the same inputs and config.
constexpr int kFormatVersion = 1;

// The last path component, also for folders given with a trailing slash.
std::string last_component(const fs::path& path) {
  const fs::path normal = path.lexically_normal();
  const std::string name = normal.filename().string();
  return name.empty() ? normal.parent_path().filename().string() : name;
}

class FingerprintBuilder {
 public:
  FingerprintBuilder& text(std::string_view s) {
    hasher_.add(static_cast<uint64_t>(s.size())).add(s);
    return *this;
  }
  FingerprintBuilder& number(int64_t v) {
    hasher_.add(static_cast<uint64_t>(v));
    return *this;
  }
  FingerprintBuilder& texts(const std::vector<std::string>& list) {
    number(static_cast<int64_t>(list.size()));
    for (const auto& s : list) text(s);
    return *this;
  }
  std::string hex() const { return hasher_.hex(); }

 private:
  Hasher hasher_;
};

void add_config(FingerprintBuilder& f, const DataConfig& d) {
  f.text(d.item_info_path).text(d.interactions_path).text(d.image_folder);
  f.text(d.processed_item_info_path).text(d.processed_interactions_path);
  f.text(d.processed_image_destination_folder);
  const auto& text = d.offline_text_cleaning;
  f.number(text.remove_html).number(text.normalize_unicode).number(text.to_lowercase);
  const auto& validation = d.offline_image_validation;
  f.number(validation.check_corrupted).number(validation.min_width).number(validation.min_height);
  f.texts(validation.allowed_extensions);
  const auto& compression = d.offline_image_compression;
  f.number(compression.enabled).number(compression.compress_if_kb_larger_than);
  f.number(compression.target_quality);
  const auto& limit = compression.resize_if_pixels_larger_than;
  f.number(limit ? static_cast<int64_t>(limit->size()) : -1);
  if (limit)
    for (int v : *limit) f.number(v);
  f.number(compression.resize_target_longest_edge.value_or(-1));
  f.number(d.require_image).texts(d.numerical_features_cols);
  f.number(d.splitting.min_interactions_per_user).number(d.splitting.min_interactions_per_item);
  f.number(d.splitting.tag_grouping_threshold);
}

nlohmann::json to_json(const std::map<std::string, size_t>& counts) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, n] : counts) out[key] = n;
  return out;
}

nlohmann::json step_reports(const PreprocessCounts& c, const Config& config) {
  const auto& d = config.data;
  nlohmann::json steps;
  steps["parse"] = {{"item_rows", c.item_rows},
                    {"items_parsed", c.items_parsed},
                    {"interaction_rows", c.interaction_rows},
                    {"interactions_parsed", c.interactions_parsed},
                    {"rejected", to_json(c.parse_rejected)}};
  steps["text_cleaning"] = {{"remove_html", d.offline_text_cleaning.remove_html},
                            {"normalize_unicode", d.offline_text_cleaning.normalize_unicode},
                            {"to_lowercase", d.offline_text_cleaning.to_lowercase},
                            {"html_removed", c.html_removed},
                            {"invalid_utf8_repaired", c.invalid_utf8_repaired},
                            {"missing_text", c.missing_text},
                            {"missing_columns", c.missing_text_columns}};
  steps["images"] = {{"checked", c.images_checked},
                     {"copied", c.images_copied},
                     {"recompressed", c.images_recompressed},
                     {"rejected", to_json(c.images_rejected)},
                     {"kept_without_image", to_json(c.kept_without_image)},
                     {"bytes_in", c.image_bytes_in},
                     {"bytes_out", c.image_bytes_out}};
  steps["numeric"] = {{"repaired", to_json(c.numeric_by_reason)},
                      {"repaired_by_column", to_json(c.numeric_by_column)}};
  steps["join"] = {{"unknown_item", c.unknown_item}, {"item_rejected", c.item_rejected}};
  steps["activity_filter"] = {{"min_interactions_per_user", d.splitting.min_interactions_per_user},
                              {"min_interactions_per_item", d.splitting.min_interactions_per_item},
                              {"rounds", c.filter_rounds},
                              {"removed_interactions", c.filter_removed_interactions},
                              {"removed_users", c.filter_removed_users},
                              {"removed_items", c.filter_removed_items}};
  steps["tag_grouping"] = {{"threshold", d.splitting.tag_grouping_threshold},
                           {"tags_grouped", c.tags.tags_grouped},
                           {"items_grouped", c.tags.items_grouped}};
  return steps;
}

}  // namespace

void IssueLog::add(std::string_view file, size_t line, std::string_view id, const char* reason,
                   std::string_view field) {
  issues_.push_back({std::string(file), line, std::string(id), std::string(field), reason});
}

std::map<std::string, size_t> IssueLog::counts_by_reason(size_t from, size_t to) const {
  std::map<std::string, size_t> counts;
  for (size_t i = from; i < std::min(to, issues_.size()); ++i) ++counts[issues_[i].reason];
  return counts;
}

void IssueLog::write_csv(const fs::path& path, bool with_field) const {
  write_stream_atomic(path, [&](std::ostream& out) {
    CsvWriter writer(out);
    if (with_field)
      writer.write_row({"file", "line", "id", "field", "reason"});
    else
      writer.write_row({"file", "line", "id", "reason"});
    for (const Issue& issue : issues_) {
      const std::string line = issue.line ? std::to_string(issue.line) : std::string();
      if (with_field)
        writer.write_row({issue.file, line, issue.id, issue.field, issue.reason});
      else
        writer.write_row({issue.file, line, issue.id, issue.reason});
    }
  });
}

PreprocessPaths PreprocessPaths::from(const DataConfig& data) {
  PreprocessPaths p;
  p.raw_items = data.item_info_path;
  p.raw_interactions = data.interactions_path;
  p.raw_images = data.image_folder;
  p.items = data.processed_item_info_path;
  p.interactions = data.processed_interactions_path;
  p.images = data.processed_image_destination_folder;
  const fs::path beside = p.interactions.parent_path();
  p.report = beside / "preprocess_report.json";
  p.rejects = beside / "rejects.csv";
  p.repairs = beside / "repairs.csv";
  p.resolved_config = beside / "preprocess_config.yaml";
  p.items_label = last_component(p.raw_items);
  p.interactions_label = last_component(p.raw_interactions);
  p.images_label = last_component(p.raw_images);
  return p;
}

std::vector<fs::path> PreprocessPaths::outputs() const {
  return {items, interactions, images, report, rejects, repairs, resolved_config};
}

std::string preprocess_fingerprint(std::string_view item_csv, std::string_view interaction_csv,
                                   const ImageFolderListing& images, const Config& config) {
  FingerprintBuilder f;
  f.text("pixelrec preprocess").number(kFormatVersion);
  f.text(item_csv).text(interaction_csv);
  f.number(images.exists).number(static_cast<int64_t>(images.files.size()));
  for (const auto& file : images.files)
    f.text(file.name).number(static_cast<int64_t>(file.size)).number(file.mtime_ns);
  add_config(f, config.data);
  return f.hex();
}

bool preprocess_outputs_current(const PreprocessPaths& paths, const std::string& fingerprint) {
  std::error_code ec;
  for (const auto& output : paths.outputs())
    if (!fs::exists(output, ec)) return false;
  const auto report = nlohmann::json::parse(read_file(paths.report, "preprocess report"), nullptr,
                                            /*allow_exceptions=*/false);
  return report.is_object() && report.value("format_version", 0) == kFormatVersion &&
         report.value("fingerprint", std::string()) == fingerprint;
}

std::string render_preprocess_report(const PreprocessCounts& counts, const Config& config,
                                     const PreprocessPaths& paths, const std::string& fingerprint,
                                     size_t rejects, size_t repairs) {
  nlohmann::json report;
  report["format_version"] = kFormatVersion;
  report["fingerprint"] = fingerprint;
  report["inputs"] = {{"item_info", paths.raw_items.string()},
                      {"interactions", paths.raw_interactions.string()},
                      {"image_folder", paths.raw_images.string()}};
  report["outputs"] = {
      {"item_info", paths.items.string()},     {"interactions", paths.interactions.string()},
      {"image_folder", paths.images.string()}, {"rejects", paths.rejects.string()},
      {"repairs", paths.repairs.string()},     {"config", paths.resolved_config.string()}};
  report["steps"] = step_reports(counts, config);
  report["result"] = {{"items", counts.items},
                      {"items_with_image", counts.items_with_image},
                      {"items_with_interactions", counts.items_with_interactions},
                      {"interactions", counts.interactions},
                      {"users", counts.users}};
  report["rejects"] = rejects;
  report["repairs"] = repairs;
  report["seconds"] = counts.seconds;
  return report.dump(2) + "\n";
}

}  // namespace pixelrec
