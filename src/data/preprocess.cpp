// The preprocess pipeline: idempotence check, then the steps of SPEC §3 in order, then the
// outputs, with the report written last as the completion marker.
#include "data/preprocess.h"

#include <charconv>
#include <chrono>

#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "data/activity_filter.h"

namespace pixelrec {

namespace {

class Stopwatch {
 public:
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return seconds;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// Raw files are never written: no output may be one of the inputs.
void check_outputs_apart_from_inputs(const PreprocessPaths& paths) {
  const std::pair<const fs::path*, const char*> inputs[] = {
      {&paths.raw_items, "data.item_info_path"},
      {&paths.raw_interactions, "data.interactions_path"},
      {&paths.raw_images, "data.image_folder"}};
  auto canonical = [](const fs::path& p) {
    std::error_code ec;
    const fs::path c = fs::weakly_canonical(p, ec);
    return ec ? p.lexically_normal() : c;
  };
  for (const auto& output : paths.outputs()) {
    for (const auto& [input, key] : inputs) {
      if (canonical(output) != canonical(*input)) continue;
      throw Error("preprocess would overwrite the raw input '" + input->string() + "' (" + key +
                  "); point the data.processed_* paths somewhere else");
    }
  }
}

class PreprocessRun {
 public:
  PreprocessRun(const Config& config, const PreprocessPaths& paths,
                const PreprocessOptions& options)
      : config_(config), paths_(paths), options_(options) {}

  PreprocessSummary run(std::string item_csv, std::string interaction_csv,
                        const ImageFolderListing& listing, const std::string& fingerprint) {
    std::error_code ec;
    fs::remove(paths_.report, ec);  // the outputs are incomplete until the report is back
    parse(std::move(item_csv), std::move(interaction_csv));
    process_images(items_, listing, config_, paths_, options_.show_progress, rejects_, repairs_,
                   counts_);
    counts_.seconds["images"] = stopwatch_.lap();
    join_catalogue();
    filter_activity();
    counts_.tags = group_rare_tags(items_.table.columns[ItemTable::kTagColumn],
                                   config_.data.splitting.tag_grouping_threshold);
    count_result();
    rejects_.write_csv(paths_.rejects, false);
    repairs_.write_csv(paths_.repairs, true);
    check_not_empty();
    write_outputs(fingerprint);
    return summary();
  }

 private:
  void parse(std::string item_csv, std::string interaction_csv) {
    CsvReader item_reader(std::move(item_csv), paths_.raw_items.string());
    items_ = parse_items(item_reader, config_, paths_.items_label, rejects_, repairs_, counts_);
    CsvReader interaction_reader(std::move(interaction_csv), paths_.raw_interactions.string());
    interactions_ =
        parse_interactions(interaction_reader, paths_.interactions_label, rejects_, counts_);
    counts_.parse_rejected = rejects_.counts_by_reason();
    counts_.seconds["parse"] = stopwatch_.lap();
    spdlog::info("parsed {} of {} item rows and {} of {} interaction rows ({} rejected)",
                 counts_.items_parsed, counts_.item_rows, counts_.interactions_parsed,
                 counts_.interaction_rows, rejects_.size());
  }

  // Step 5a: interactions keep only items of the catalogue.
  void join_catalogue() {
    std::vector<int64_t> catalogue_row(interactions_.item_ids.size(), -1);
    for (size_t k = 0; k < catalogue_row.size(); ++k) {
      const auto it = items_.index.find(interactions_.item_ids[k]);
      if (it != items_.index.end()) catalogue_row[k] = it->second;
    }
    const auto& rows = interactions_.rows;
    item_of_row_.assign(rows.size(), 0);
    keep_.assign(rows.size(), false);
    for (size_t i = 0; i < rows.size(); ++i) {
      const int64_t item = catalogue_row[rows[i].item];
      if (item >= 0) {
        item_of_row_[i] = static_cast<uint32_t>(item);
        keep_[i] = true;
        continue;
      }
      const bool rejected = items_.rejected_ids.count(interactions_.item_ids[rows[i].item]) != 0;
      ++(rejected ? counts_.item_rejected : counts_.unknown_item);
      rejects_.add(paths_.interactions_label, rows[i].line, interactions_.user_ids[rows[i].user],
                   rejected ? kItemRejected : kUnknownItem);
    }
  }

  // Step 5b: the k-core activity filter over the joined interactions.
  void filter_activity() {
    std::vector<size_t> kept;
    std::vector<uint32_t> users, items;
    for (size_t i = 0; i < keep_.size(); ++i) {
      if (!keep_[i]) continue;
      kept.push_back(i);
      users.push_back(interactions_.rows[i].user);
      items.push_back(item_of_row_[i]);
    }
    const auto& s = config_.data.splitting;
    const ActivityFilterResult result =
        filter_by_activity(users, items, interactions_.user_ids.size(), items_.size(),
                           s.min_interactions_per_user, s.min_interactions_per_item);
    for (size_t j = 0; j < kept.size(); ++j) keep_[kept[j]] = result.keep[j];
    counts_.filter_rounds = result.rounds;
    counts_.filter_removed_interactions = result.removed_interactions;
    counts_.filter_removed_users = result.removed_users;
    counts_.filter_removed_items = result.removed_items;
    counts_.seconds["filter"] = stopwatch_.lap();
    if (result.rounds > 0)
      spdlog::info("activity filter: {} rounds removed {} interactions, {} users, {} items",
                   result.rounds, result.removed_interactions, result.removed_users,
                   result.removed_items);
  }

  void count_result() {
    std::vector<bool> user_seen(interactions_.user_ids.size()), item_seen(items_.size());
    for (size_t i = 0; i < keep_.size(); ++i) {
      if (!keep_[i]) continue;
      ++counts_.interactions;
      user_seen[interactions_.rows[i].user] = true;
      item_seen[item_of_row_[i]] = true;
    }
    for (bool seen : user_seen) counts_.users += seen ? 1 : 0;
    for (bool seen : item_seen) counts_.items_with_interactions += seen ? 1 : 0;
    counts_.items = items_.size();
    for (const auto& file : items_.image_files) counts_.items_with_image += file.empty() ? 0 : 1;
  }

  void check_not_empty() const {
    const std::string see = "; see " + paths_.rejects.string() + " for the reasons";
    if (counts_.items == 0)
      throw Error("no items survived preprocessing: all " + std::to_string(counts_.item_rows) +
                  " item rows were rejected" + see +
                  " (fix the raw data, or set data.require_image: false if images are the cause)");
    if (counts_.interactions == 0)
      throw Error("no interactions survived preprocessing: " + std::to_string(rejects_.size()) +
                  " rows were rejected and " + std::to_string(counts_.filter_removed_interactions) +
                  " interactions removed by the activity filter" + see +
                  " (fix the raw data or lower data.splitting.min_interactions_per_user/item)");
  }

  void write_interactions() const {
    write_stream_atomic(paths_.interactions, [&](std::ostream& out) {
      CsvWriter writer(out);
      std::vector<std::string> fields = {"item_id", "user_id", "timestamp"};
      fields.insert(fields.end(), interactions_.extra_header.begin(),
                    interactions_.extra_header.end());
      writer.write_row(fields);
      const size_t extra = interactions_.extra_header.size();
      char buffer[24];
      for (size_t i = 0; i < keep_.size(); ++i) {
        if (!keep_[i]) continue;
        const auto& row = interactions_.rows[i];
        fields[0] = interactions_.item_ids[row.item];
        fields[1] = interactions_.user_ids[row.user];
        const auto end = std::to_chars(buffer, buffer + sizeof buffer, row.timestamp).ptr;
        fields[2].assign(buffer, end);
        for (size_t c = 0; c < extra; ++c) fields[3 + c] = interactions_.extras[i * extra + c];
        writer.write_row(fields);
      }
    });
  }

  void write_outputs(const std::string& fingerprint) {
    items_.table.header.emplace_back("image_file");
    items_.table.columns.push_back(items_.image_files);
    write_csv_table_atomic(paths_.items, items_.table);
    write_interactions();
    write_resolved_config(config_, paths_.resolved_config);
    counts_.seconds["write"] = stopwatch_.lap();
    write_file_atomic(paths_.report, render_preprocess_report(counts_, config_, paths_, fingerprint,
                                                              rejects_.size(), repairs_.size()));
  }

  PreprocessSummary summary() const {
    spdlog::info(
        "preprocess done: {} items ({} with an image), {} interactions from {} users; {} rejects "
        "in {}, {} repairs in {}; report {}",
        counts_.items, counts_.items_with_image, counts_.interactions, counts_.users,
        rejects_.size(), paths_.rejects.string(), repairs_.size(), paths_.repairs.string(),
        paths_.report.string());
    PreprocessSummary s;
    s.items = counts_.items;
    s.interactions = counts_.interactions;
    s.rejects = rejects_.size();
    s.repairs = repairs_.size();
    s.report_path = paths_.report;
    return s;
  }

  const Config& config_;
  const PreprocessPaths& paths_;
  const PreprocessOptions& options_;
  Stopwatch stopwatch_;
  IssueLog rejects_, repairs_;
  PreprocessCounts counts_;
  ItemTable items_;
  InteractionTable interactions_;
  std::vector<uint32_t> item_of_row_;  // catalogue row of each interaction (when kept)
  std::vector<bool> keep_;
};

}  // namespace

PreprocessSummary run_preprocess(const Config& config, const PreprocessOptions& options) {
  const PreprocessPaths paths = PreprocessPaths::from(config.data);
  check_outputs_apart_from_inputs(paths);
  std::string item_csv = read_file(paths.raw_items, "item info CSV (data.item_info_path)");
  std::string interaction_csv =
      read_file(paths.raw_interactions, "interactions CSV (data.interactions_path)");
  const ImageFolderListing listing = list_image_folder(paths.raw_images);
  const std::string fingerprint =
      preprocess_fingerprint(item_csv, interaction_csv, listing, config);
  if (!options.force_reprocess && preprocess_outputs_current(paths, fingerprint)) {
    spdlog::info(
        "processed data is up to date (fingerprint {} in {}): nothing to do (use "
        "--force-reprocess to redo it)",
        fingerprint, paths.report.string());
    PreprocessSummary summary;
    summary.up_to_date = true;
    summary.report_path = paths.report;
    return summary;
  }
  PreprocessRun run(config, paths, options);
  return run.run(std::move(item_csv), std::move(interaction_csv), listing, fingerprint);
}

}  // namespace pixelrec
