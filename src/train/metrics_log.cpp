#include "train/metrics_log.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/errors.h"
#include "core/files.h"

namespace pixelrec::train {

double metric_value(const std::vector<std::pair<std::string, double>>& metrics,
                    const std::string& name) {
  for (const auto& [n, v] : metrics)
    if (n == name) return v;
  return std::numeric_limits<double>::quiet_NaN();
}

namespace fs = std::filesystem;

namespace {

constexpr const char* kEpochColumn = "epoch";

int parse_epoch(const std::string& text, const fs::path& source, size_t line) {
  int epoch = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), epoch);
  if (ec != std::errc() || end != text.data() + text.size() || epoch < 0)
    throw Error("'" + source.string() + "' line " + std::to_string(line) + ": epoch '" + text +
                "' is not an epoch number; this file is written by `pixelrec train`: restore it "
                "or start a new run");
  return epoch;
}

// One metrics.jsonl line as an ordered object; Error naming file and line when it is not ours.
nlohmann::ordered_json parse_line(const std::string& line, const fs::path& source, size_t number) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains(kEpochColumn) ||
      !j[kEpochColumn].is_number_integer() || j[kEpochColumn].get<int64_t>() < 0 ||
      j[kEpochColumn].get<int64_t>() > std::numeric_limits<int>::max())
    throw Error("'" + source.string() + "' line " + std::to_string(number) +
                ": not a metrics row {\"epoch\":N,...}; this file is written by `pixelrec "
                "train`: restore it or start a new run");
  return j;
}

// Complete lines of a metrics.jsonl with their 1-based numbers; a torn last line is dropped.
std::vector<std::pair<size_t, std::string>> complete_lines(const std::string& text) {
  std::vector<std::pair<size_t, std::string>> lines;
  size_t start = 0, number = 1;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1, ++number)
    if (nl > start) lines.emplace_back(number, text.substr(start, nl - start));
  return lines;
}

std::string json_row(const EpochMetrics& row) {
  std::string line = "{\"epoch\":" + std::to_string(row.epoch);
  for (const auto& [name, value] : row.values) {
    line += ',';
    line += nlohmann::json(name).dump();  // escaped JSON string
    line += ':';
    if (!std::isfinite(value)) {
      line += "null";
    } else if (value == 0 && std::signbit(value)) {
      line += "-0.0";  // "-0" would parse back as the integer 0
    } else {
      line += format_metric(value);
    }
  }
  line += "}\n";
  return line;
}

}  // namespace

std::string format_metric(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  PIXELREC_CHECK(ec == std::errc(), "to_chars failed");
  return std::string(buf, end);
}

MetricsLog::MetricsLog(fs::path jsonl, fs::path csv)
    : jsonl_(std::move(jsonl)), csv_(std::move(csv)) {
  if (!fs::exists(csv_)) return;
  table_ = read_csv_table(csv_);
  const size_t epoch_column = table_.require_column(kEpochColumn, csv_.string());
  if (epoch_column != 0)
    throw Error("'" + csv_.string() +
                "': the first column must be 'epoch'; this file is "
                "written by `pixelrec train`: restore it or start a new run");
  for (size_t r = 0; r < table_.rows(); ++r)
    last_epoch_ = parse_epoch(table_.columns[0][r], csv_, r + 2);
}

void MetricsLog::truncate_after(int last_epoch) {
  if (fs::exists(jsonl_)) {
    std::string kept;
    for (const auto& [number, line] : complete_lines(read_file(jsonl_, "metrics log"))) {
      const auto j = parse_line(line, jsonl_, number);
      if (j[kEpochColumn].get<int64_t>() <= last_epoch) kept += line + '\n';
    }
    write_file_atomic(jsonl_, kept);
  }
  if (table_.header.empty()) return;
  CsvTable kept;
  std::vector<size_t> rows;
  last_epoch_ = -1;
  for (size_t r = 0; r < table_.rows(); ++r) {
    const int epoch = parse_epoch(table_.columns[0][r], csv_, r + 2);
    if (epoch <= last_epoch) {
      rows.push_back(r);
      last_epoch_ = std::max(last_epoch_, epoch);
    }
  }
  // A column survives when a kept row has a value in it: cells are empty only where the name
  // was absent, so this restores the header an uninterrupted run had at last_epoch.
  for (size_t c = 0; c < table_.header.size(); ++c) {
    std::vector<std::string> cells;
    bool seen = c == 0;
    for (size_t r : rows) {
      cells.push_back(table_.columns[c][r]);
      seen = seen || !cells.back().empty();
    }
    if (!seen) continue;
    kept.header.push_back(table_.header[c]);
    kept.columns.push_back(std::move(cells));
  }
  table_ = std::move(kept);
  write_csv_table_atomic(csv_, table_);
}

void MetricsLog::append(const EpochMetrics& row) {
  PIXELREC_CHECK(row.epoch > last_epoch_, "metrics row for epoch " + std::to_string(row.epoch) +
                                              " after epoch " + std::to_string(last_epoch_) +
                                              " (call truncate_after when resuming)");
  std::unordered_set<std::string> names;
  for (const auto& [name, value] : row.values)
    PIXELREC_CHECK(!name.empty() && name != kEpochColumn && names.insert(name).second,
                   "metric name '" + name + "' is empty, 'epoch' or repeated");

  ensure_parent_directory(jsonl_);
  {
    std::ofstream out(jsonl_, std::ios::binary | std::ios::app);
    out << json_row(row);
    out.flush();
    if (!out)
      throw Error("cannot append to '" + jsonl_.string() +
                  "'; check that the run folder is writable and the disk is not full");
  }

  if (table_.header.empty()) {
    table_.header = {kEpochColumn};
    table_.columns.assign(1, {});
  }
  const size_t previous_rows = table_.rows();
  for (auto& column : table_.columns) column.emplace_back();
  table_.columns[0].back() = std::to_string(row.epoch);
  for (const auto& [name, value] : row.values) {
    auto column = table_.column(name);
    if (!column) {
      table_.header.push_back(name);
      table_.columns.emplace_back(previous_rows + 1);
      column = table_.header.size() - 1;
    }
    table_.columns[*column].back() = format_metric(value);
  }
  ensure_parent_directory(csv_);
  write_csv_table_atomic(csv_, table_);
  last_epoch_ = row.epoch;
}

std::vector<EpochMetrics> MetricsLog::read_jsonl(const fs::path& jsonl) {
  std::vector<EpochMetrics> rows;
  for (const auto& [number, line] : complete_lines(read_file(jsonl, "metrics log"))) {
    const auto j = parse_line(line, jsonl, number);
    EpochMetrics row;
    row.epoch = int(j[kEpochColumn].get<int64_t>());
    for (const auto& [name, value] : j.items()) {
      if (name == kEpochColumn) continue;
      if (value.is_null()) {
        row.values.emplace_back(name, std::numeric_limits<double>::quiet_NaN());
      } else if (value.is_number()) {
        row.values.emplace_back(name, value.get<double>());
      } else {
        throw Error("'" + jsonl.string() + "' line " + std::to_string(number) + ": metric '" +
                    name +
                    "' is not a number or null; this file is written by `pixelrec "
                    "train`: restore it or start a new run");
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace pixelrec::train
