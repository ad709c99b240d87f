// The split step: read the processed files, sample, build keys, split, write every output.
#include "data/split.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <unordered_map>

#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/csv.h"
#include "data/id_map.h"

namespace pixelrec {

namespace {

const char* const kRegenerate = " (the file is written by 'pixelrec preprocess'; rerun it)";

// The processed interactions: every column as read (written back unchanged into the parts).
struct Interactions {
  std::string source;
  CsvTable table;
  std::vector<int64_t> timestamp;
  size_t user_col = 0;
  size_t item_col = 0;
};

std::string at_line(const std::string& source, size_t line) {
  return "'" + source + "' line " + std::to_string(line) + ": ";
}

Interactions read_interactions(const std::string& path) {
  CsvReader reader = CsvReader::from_file(path);
  Interactions in;
  in.source = path;
  in.item_col = reader.require_column("item_id");
  in.user_col = reader.require_column("user_id");
  const size_t ts_col = reader.require_column("timestamp");
  in.table.header = reader.header();
  in.table.columns.resize(in.table.header.size());
  CsvRow row;
  while (reader.next(row)) {
    if (!row.error.empty() || row.fields.size() != in.table.header.size())
      throw Error(at_line(path, row.line) +
                  (row.error.empty() ? "expected " + std::to_string(in.table.header.size()) +
                                           " fields, found " + std::to_string(row.fields.size())
                                     : row.error) +
                  kRegenerate);
    if (row.fields[in.user_col].empty() || row.fields[in.item_col].empty())
      throw Error(at_line(path, row.line) + "empty user_id or item_id" + kRegenerate);
    const auto ts = parse_int(row.fields[ts_col]);
    if (!ts)
      throw Error(at_line(path, row.line) + "timestamp '" + row.fields[ts_col] +
                  "' is not an integer (unix seconds expected)" + kRegenerate);
    in.timestamp.push_back(*ts);
    for (size_t c = 0; c < row.fields.size(); ++c)
      in.table.columns[c].push_back(std::move(row.fields[c]));
  }
  if (in.timestamp.empty())
    throw Error("'" + path + "' has no interactions; run 'pixelrec preprocess' on non-empty data");
  return in;
}

void keep_rows(Interactions& in, const std::vector<size_t>& rows) {
  for (auto& column : in.table.columns) {
    std::vector<std::string> kept;
    kept.reserve(rows.size());
    for (size_t r : rows) kept.push_back(std::move(column[r]));
    column = std::move(kept);
  }
  std::vector<int64_t> timestamp;
  timestamp.reserve(rows.size());
  for (size_t r : rows) timestamp.push_back(in.timestamp[r]);
  in.timestamp = std::move(timestamp);
}

// String → dense index in order of first appearance.
class Dictionary {
 public:
  uint32_t add(const std::string& value) {
    const auto [it, inserted] = index_.try_emplace(value, static_cast<uint32_t>(values_.size()));
    if (inserted) values_.push_back(value);
    return it->second;
  }
  std::optional<uint32_t> find(const std::string& value) const {
    const auto it = index_.find(value);
    return it == index_.end() ? std::nullopt : std::optional<uint32_t>(it->second);
  }
  const std::vector<std::string>& values() const { return values_; }
  uint32_t size() const { return static_cast<uint32_t>(values_.size()); }

 private:
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::string> values_;
};

std::vector<uint32_t> encode(const std::vector<std::string>& column, Dictionary& dict) {
  std::vector<uint32_t> codes;
  codes.reserve(column.size());
  for (const auto& value : column) codes.push_back(dict.add(value));
  return codes;
}

// Strata from data.splitting.stratify_by: an interactions column, or an item column of the
// catalogue joined by item_id (items missing from the catalogue form the stratum "").
void add_strata(SplitKeys& keys, const Interactions& in, const CsvTable& catalogue,
                const std::string& catalogue_path, const std::string& column) {
  Dictionary strata;
  if (column.empty()) {  // stratify_by: null, no column: one stratum
    keys.stratum.assign(keys.rows(), 0);
    keys.stratum_count = 1;
    return;
  }
  if (const auto c = in.table.column(column)) {
    keys.stratum = encode(in.table.columns[*c], strata);
  } else if (const auto ic = catalogue.column(column)) {
    Dictionary catalogue_items;
    std::vector<uint32_t> item_stratum;
    const auto& ids = catalogue.columns[*catalogue.column("item_id")];
    for (size_t r = 0; r < ids.size(); ++r) {
      if (catalogue_items.find(ids[r])) continue;  // the first row of a duplicated id wins
      catalogue_items.add(ids[r]);
      item_stratum.push_back(strata.add(catalogue.columns[*ic][r]));
    }
    size_t missing = 0;
    keys.stratum.reserve(keys.rows());
    for (const auto& item : in.table.columns[in.item_col]) {
      const auto found = catalogue_items.find(item);
      missing += !found;
      keys.stratum.push_back(found ? item_stratum[*found] : strata.add(""));
    }
    if (missing > 0)
      spdlog::warn(
          "split: {} interactions have an item missing from '{}'; their '{}' stratum is "
          "empty",
          missing, catalogue_path, column);
  } else {
    throw Error("data.splitting.stratify_by: column '" + column + "' is in neither '" + in.source +
                "' (columns: " + join(in.table.header, ", ") + ") nor '" + catalogue_path +
                "' (columns: " + join(catalogue.header, ", ") + "); set it to one of these");
  }
  keys.stratum_count = strata.size();
}

void write_part(const std::string& path, const CsvTable& table, const SplitAssignment& a,
                SplitPart part) {
  ensure_parent_directory(path);
  write_stream_atomic(path, [&](std::ostream& out) {
    CsvWriter writer(out);
    writer.write_row(table.header);
    std::vector<std::string> row(table.header.size());  // buffers reused across rows
    for (size_t r = 0; r < a.part.size(); ++r) {
      if (a.part[r] != part) continue;
      for (size_t c = 0; c < row.size(); ++c) row[c] = table.columns[c][r];
      writer.write_row(row);
    }
  });
}

void write_id_maps(const fs::path& dir, const SplitKeys& keys, const SplitAssignment& a,
                   const Dictionary& users, const Dictionary& items, const CsvTable& catalogue) {
  std::vector<bool> user_in_train(keys.user_count, false), item_in_train(keys.item_count, false);
  for (size_t r = 0; r < keys.rows(); ++r) {
    if (a.part[r] != SplitPart::kTrain) continue;
    user_in_train[keys.user[r]] = true;
    item_in_train[keys.item[r]] = true;
  }
  std::vector<std::string> train_users;
  for (uint32_t u = 0; u < keys.user_count; ++u)
    if (user_in_train[u]) train_users.push_back(users.values()[u]);
  IdMap::from_ids(std::move(train_users)).save(dir / "user_map.csv", "user_id");

  std::vector<std::string> all_items = catalogue.columns[*catalogue.column("item_id")];
  all_items.insert(all_items.end(), items.values().begin(), items.values().end());
  const IdMap item_map = IdMap::from_ids(std::move(all_items));
  IdMapColumn in_train{"in_train", {}};
  in_train.values.reserve(item_map.size());
  for (const auto& id : item_map.ids()) {
    const auto index = items.find(id);
    in_train.values.push_back(index && item_in_train[*index] ? "1" : "0");
  }
  item_map.save(dir / "item_map.csv", "item_id", {in_train});
}

void check_no_leakage(SplitStrategy strategy, const SplitKeys& keys, const SplitAssignment& a) {
  const auto violations = find_split_violations(strategy, keys, a);
  if (violations.empty()) return;
  throw InternalError("split strategy '" + std::string(split_strategy_name(strategy)) +
                      "' broke its own invariants: " + join(violations, "; ") +
                      ". This is a bug in pixelrec; please report it with your config "
                      "(data.splitting.validate_no_leakage: false skips this check)");
}

void log_summary(const SplitStats& stats, const std::string& dir) {
  spdlog::info("split: strategy {} (seed {}), {} interactions written to '{}'", stats.strategy,
               stats.seed, stats.input_interactions, dir);
  for (const auto& line : format_split_table(stats)) spdlog::info("  {}", line);
}

// Everything the split reads, after sampling, with the keys the strategy looks at.
struct SplitInput {
  Interactions interactions;
  CsvTable catalogue;
  Dictionary users, items;
  SplitKeys keys;
};

SplitInput load_input(const Config& config, SplitStrategy strategy,
                      const std::optional<int64_t>& sample_n, uint64_t seed) {
  SplitInput input;
  Interactions& in = input.interactions;
  in = read_interactions(config.data.processed_interactions_path);
  const std::string& catalogue_path = config.data.processed_item_info_path;
  input.catalogue = read_csv_table(catalogue_path);
  input.catalogue.require_column("item_id", catalogue_path);
  if (sample_n) {
    if (*sample_n < 1 || static_cast<size_t>(*sample_n) > in.timestamp.size())
      throw Error("cannot sample " + std::to_string(*sample_n) + " interactions: '" + in.source +
                  "' has " + std::to_string(in.timestamp.size()) +
                  " (use --sample-n / data.sample_size between 1 and that, or leave it unset)");
    keep_rows(in, sample_rows(in.timestamp.size(), static_cast<size_t>(*sample_n), seed));
  }
  SplitKeys& keys = input.keys;
  keys.user = encode(in.table.columns[in.user_col], input.users);
  keys.item = encode(in.table.columns[in.item_col], input.items);
  keys.timestamp = in.timestamp;
  keys.user_count = input.users.size();
  keys.item_count = input.items.size();
  if (strategy == SplitStrategy::kStratifiedByColumn && config.data.splitting.stratify_by.empty())
    throw Error(
        "data.splitting.stratify_by is not set (null), but strategy stratified_by_column "
        "stratifies by that column; set it to a column of the interactions or of the item "
        "catalogue (e.g. tag)");
  if (strategy_uses_strata(strategy))
    add_strata(keys, in, input.catalogue, catalogue_path, config.data.splitting.stratify_by);
  return input;
}

void write_outputs(const Config& config, const SplitInput& input, const SplitAssignment& a,
                   const std::optional<int64_t>& sample_n) {
  const fs::path dir(config.data.split_data_path);
  ensure_directory(dir);
  write_part(config.train_path(), input.interactions.table, a, SplitPart::kTrain);
  write_part(config.val_path(), input.interactions.table, a, SplitPart::kVal);
  write_part(config.test_path(), input.interactions.table, a, SplitPart::kTest);
  write_id_maps(dir, input.keys, a, input.users, input.items, input.catalogue);
  Config resolved = config;
  resolved.data.sample_size = sample_n;
  write_resolved_config(resolved, dir / "split_config.yaml");
}

}  // namespace

SplitStats run_split(const Config& config, const SplitRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  const SplittingConfig& sc = config.data.splitting;
  const SplitStrategy strategy = parse_split_strategy(sc.strategy);
  const SplitRatios ratios{sc.train_final_ratio, sc.val_final_ratio, sc.test_final_ratio};
  const auto seed = static_cast<uint64_t>(sc.random_state);
  check_split_ratios(strategy, ratios);  // before reading anything: fail fast
  const std::optional<int64_t> sample_n =
      request.sample_n ? request.sample_n : config.data.sample_size;

  const SplitInput input = load_input(config, strategy, sample_n, seed);
  const SplitAssignment assignment = assign_split(strategy, input.keys, ratios, seed);
  if (sc.validate_no_leakage) check_no_leakage(strategy, input.keys, assignment);
  if (assignment.users_with_too_few_interactions > 0)
    spdlog::warn(
        "split: {} users have fewer than 3 interactions; leave_one_out keeps them whole "
        "in train",
        assignment.users_with_too_few_interactions);
  write_outputs(config, input, assignment, sample_n);

  SplitStats stats = compute_split_stats(input.keys, assignment);
  stats.strategy = split_strategy_name(strategy);
  if (strategy_uses_strata(strategy)) stats.stratify_by = sc.stratify_by;
  stats.seed = seed;
  stats.ratios = ratios;
  stats.sample_n = sample_n;
  if (strategy == SplitStrategy::kLeaveOneOut)
    stats.users_with_too_few_interactions = assignment.users_with_too_few_interactions;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_file_atomic(fs::path(config.data.split_data_path) / "split_stats.json",
                    split_stats_to_json(stats).dump(2) + "\n");
  log_summary(stats, config.data.split_data_path);
  return stats;
}

}  // namespace pixelrec
