// `pixelrec preprocess` (SPEC §3): validates, cleans and filters raw PixelRec data into processed
// CSVs and an image folder, with rejects.csv, repairs.csv and preprocess_report.json beside them.
// Idempotent: a fingerprint of the inputs and the config skips the work when nothing changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/config.h"
#include "data/csv.h"

namespace pixelrec {

struct PreprocessOptions {
  bool force_reprocess = false;  // redo everything even when the fingerprint matches
  bool show_progress = true;
};

struct PreprocessSummary {
  bool up_to_date = false;  // nothing was done (the counts below stay 0): outputs were current
  size_t items = 0;
  size_t interactions = 0;
  size_t rejects = 0;
  size_t repairs = 0;
  std::filesystem::path report_path;
};

// Runs every step and writes every output; throws Error for unusable input or an empty result.
PreprocessSummary run_preprocess(const Config& config, const PreprocessOptions& options = {});

// ---- Reasons written to rejects.csv / repairs.csv (image reasons live in image_check.h) --------

inline constexpr const char* kMalformedRow = "malformed_row";
inline constexpr const char* kWrongFieldCount = "wrong_field_count";
inline constexpr const char* kEmptyId = "empty_id";           // interactions: empty user_id
inline constexpr const char* kEmptyItemId = "empty_item_id";  // either file: empty item_id
inline constexpr const char* kDuplicateItemId = "duplicate_item_id";
inline constexpr const char* kDuplicateInteraction = "duplicate_interaction";
inline constexpr const char* kBadTimestamp = "bad_timestamp";
inline constexpr const char* kUnknownItem = "unknown_item";
inline constexpr const char* kItemRejected = "item_rejected";
inline constexpr const char* kHtmlRemoved = "html_removed";
inline constexpr const char* kInvalidUtf8Repaired = "invalid_utf8_repaired";
inline constexpr const char* kNumericNotFinite = "numeric_not_finite";
inline constexpr const char* kNumericNegative = "numeric_negative";
inline constexpr const char* kNumericNotANumber = "numeric_not_a_number";
inline constexpr const char* kNumericMissing = "numeric_missing";

// ---- Building blocks of the steps (used by the pipeline and by tests) ------------------------

// Unix seconds from an integer or decimal (truncated) count of seconds, or an ISO 8601 date
// YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS[Z] read as UTC; nullopt otherwise.
std::optional<int64_t> parse_timestamp(std::string_view text);

// Why a counter value must be replaced by 0 (one of the kNumeric* reasons), or nullptr when it is
// a finite, non-negative decimal number.
const char* numeric_problem(std::string_view text);

struct TagGroupingResult {
  size_t tags_grouped = 0;   // distinct tags replaced by "other"
  size_t items_grouped = 0;  // items whose tag was replaced
};

// Tags carried by fewer than `threshold` items become "other"; empty tags stay empty; 0 is off.
TagGroupingResult group_rare_tags(std::vector<std::string>& tags, int threshold);

// One rejects.csv or repairs.csv row.
struct Issue {
  std::string file;   // relative to the raw data: "item_info.csv", "images/12.jpg", ...
  size_t line = 0;    // physical line where the record starts; 0 (written empty) for images
  std::string id;     // item_id, or user_id for interaction rows
  std::string field;  // repairs only: the column that was changed
  const char* reason = "";
};

class IssueLog {
 public:
  void add(std::string_view file, size_t line, std::string_view id, const char* reason,
           std::string_view field = {});
  const std::vector<Issue>& issues() const { return issues_; }
  size_t size() const { return issues_.size(); }
  // Counts per reason of the issues in [from, to).
  std::map<std::string, size_t> counts_by_reason(size_t from = 0, size_t to = SIZE_MAX) const;
  // Writes `file,line,id[,field],reason` rows atomically.
  void write_csv(const std::filesystem::path& path, bool with_field) const;

 private:
  std::vector<Issue> issues_;
};

// Where preprocess reads and writes, and how raw files are named in rejects.csv.
struct PreprocessPaths {
  std::filesystem::path raw_items, raw_interactions, raw_images;
  std::filesystem::path items, interactions, images;
  std::filesystem::path report, rejects, repairs, resolved_config;
  std::string items_label, interactions_label, images_label;

  static PreprocessPaths from(const DataConfig& data);
  std::vector<std::filesystem::path> outputs() const;
};

// One file of the raw image folder, as the fingerprint sees it.
struct ImageFileInfo {
  std::string name;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

struct ImageFolderListing {
  bool exists = false;
  std::vector<ImageFileInfo> files;  // sorted by name
  std::unordered_set<std::string> names;
};

ImageFolderListing list_image_folder(const std::filesystem::path& folder);

// Counters of every step, rendered into preprocess_report.json.
struct PreprocessCounts {
  size_t item_rows = 0, items_parsed = 0;
  size_t interaction_rows = 0, interactions_parsed = 0;
  std::vector<std::string> missing_text_columns;
  size_t html_removed = 0, invalid_utf8_repaired = 0, missing_text = 0;
  size_t images_checked = 0, images_copied = 0, images_recompressed = 0;
  uint64_t image_bytes_in = 0, image_bytes_out = 0;
  std::map<std::string, size_t> images_rejected, kept_without_image;
  std::map<std::string, size_t> numeric_by_reason, numeric_by_column;
  size_t unknown_item = 0, item_rejected = 0;
  int filter_rounds = 0;
  size_t filter_removed_interactions = 0, filter_removed_users = 0, filter_removed_items = 0;
  TagGroupingResult tags;
  size_t items = 0, items_with_image = 0, items_with_interactions = 0;
  size_t interactions = 0, users = 0;
  std::map<std::string, size_t> parse_rejected;
  std::map<std::string, double> seconds;
};

// The item catalogue between the steps. Column-major; `table.header` is item_id, title,
// description, tag, the numeric columns, then the other raw columns (image_file comes last, on
// writing).
// The processed item file's copy of each title as written (`title` itself is cleaned for feature
// extraction): what recommendations show to people.
inline constexpr const char* kDisplayTitleColumn = "display_title";

struct ItemTable {
  static constexpr size_t kIdColumn = 0, kTitleColumn = 1, kDescriptionColumn = 2, kTagColumn = 3;
  CsvTable table;
  std::vector<size_t> lines;                        // raw line of each item
  std::vector<std::string> image_files;             // filled by the image step; "" = none
  std::unordered_map<std::string, uint32_t> index;  // item_id → row
  std::unordered_set<std::string> rejected_ids;     // ids whose item row or image was rejected
  size_t size() const { return lines.size(); }
  const std::string& id(size_t row) const { return table.columns[kIdColumn][row]; }
};

// Interactions with interned ids: rows hold dense indices into item_ids and user_ids.
struct InteractionTable {
  struct Row {
    uint32_t item = 0;
    uint32_t user = 0;
    int64_t timestamp = 0;
    size_t line = 0;
  };
  std::vector<std::string> extra_header;  // raw columns besides item_id, user_id, timestamp
  std::vector<std::string> item_ids, user_ids;
  std::vector<Row> rows;
  std::vector<std::string> extras;  // rows.size() x extra_header.size(), row-major
};

// Step 1 + 2 + 4 for items: parse, clean text, repair counters. Rejected rows go to `rejects`.
ItemTable parse_items(CsvReader& reader, const Config& config, const std::string& label,
                      IssueLog& rejects, IssueLog& repairs, PreprocessCounts& counts);

// Step 1 for interactions: parse ids and timestamps, drop exact duplicates.
InteractionTable parse_interactions(CsvReader& reader, const std::string& label, IssueLog& rejects,
                                    PreprocessCounts& counts);

// Step 3: checks, converts and writes every item's image; rejects (or, when images are optional,
// keeps without image) items whose image is missing or invalid, then drops rejected items.
void process_images(ItemTable& items, const ImageFolderListing& listing, const Config& config,
                    const PreprocessPaths& paths, bool show_progress, IssueLog& rejects,
                    IssueLog& repairs, PreprocessCounts& counts);

// Fingerprint of everything that decides the outputs: raw bytes, image listing, config values.
std::string preprocess_fingerprint(std::string_view item_csv, std::string_view interaction_csv,
                                   const ImageFolderListing& images, const Config& config);

// True when the report holds `fingerprint` and every output exists.
bool preprocess_outputs_current(const PreprocessPaths& paths, const std::string& fingerprint);

// preprocess_report.json contents.
std::string render_preprocess_report(const PreprocessCounts& counts, const Config& config,
                                     const PreprocessPaths& paths, const std::string& fingerprint,
                                     size_t rejects, size_t repairs);

}  // namespace pixelrec
