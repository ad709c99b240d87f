// Per-epoch metrics in the run folder: metrics.jsonl (one JSON object per epoch, appended) and
// metrics.csv (the same rows as a table, rewritten atomically after every epoch). Numbers are
// written in their shortest exact decimal form, so reading them back gives the same doubles.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "data/csv.h"

namespace pixelrec::train {

// The value of `name` among `metrics` (name, value) pairs; NaN when it is absent.
double metric_value(const std::vector<std::pair<std::string, double>>& metrics,
                    const std::string& name);

struct EpochMetrics {
  int epoch = 0;
  std::vector<std::pair<std::string, double>> values;  // in the order they should appear
};

class MetricsLog {
 public:
  // Loads an existing metrics.csv (if any) so that appends extend it; creates nothing yet.
  MetricsLog(std::filesystem::path jsonl, std::filesystem::path csv);

  // For --resume: keep only rows with epoch <= last_epoch (both files rewritten atomically) so a
  // resumed run's files equal an uninterrupted run's. Missing files are fine; a torn last line
  // of metrics.jsonl (a crash while appending) is dropped.
  void truncate_after(int last_epoch);

  // Appends one JSON line {"epoch":e, name:value,...} (flushed) and rewrites metrics.csv
  // atomically (header "epoch," + union of names in first-seen order; empty cell when absent).
  // Non-finite values: JSON null, CSV "nan"/"inf"/"-inf". Epochs must increase from row to row.
  void append(const EpochMetrics& row);

  // Every row of a metrics.jsonl (null reads as NaN). Throws Error naming the file and line for a
  // malformed line; a torn last line without its newline is ignored.
  static std::vector<EpochMetrics> read_jsonl(const std::filesystem::path& jsonl);

  const std::filesystem::path& jsonl_path() const { return jsonl_; }
  const std::filesystem::path& csv_path() const { return csv_; }

 private:
  std::filesystem::path jsonl_, csv_;
  CsvTable table_;  // metrics.csv as written; cells kept verbatim so rewrites are exact
  int last_epoch_ = -1;
};

// Shortest decimal text that reads back as the same double; "nan", "inf", "-inf" otherwise.
std::string format_metric(double value);

}  // namespace pixelrec::train
