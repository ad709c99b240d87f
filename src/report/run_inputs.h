// What a run folder (<results_dir>/<run>/) holds for the report, and the readers of its files:
// config.yaml (fingerprint, key values), metrics.jsonl (per-epoch metrics) and eval/*.json.
// Each reader throws pixelrec::Error naming the file (and line where there is one) and the fix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pixelrec::report {

// metrics.jsonl as columns: one row per epoch, NaN where an epoch did not report a name (or
// reported null).
struct MetricsHistory {
  std::vector<int64_t> epochs;
  std::vector<std::string> names;            // first-seen order, "epoch" excluded
  std::vector<std::vector<double>> columns;  // columns[name][row]
  std::string note;                          // e.g. a torn last line that was dropped

  const std::vector<double>* column(std::string_view name) const;
};

// Throws Error "<file>:<line>: ..." for a line that is not a JSON object with an integer
// "epoch" and numeric (or null) values, or whose epoch does not increase. A torn last line (no
// newline at the end, not valid JSON: a crash while appending) is dropped and noted.
MetricsHistory read_metrics_jsonl(const std::filesystem::path& path);

struct PairedSignificance {
  double n = 0, mean_diff = 0, t = 0, t_p = 0, wilcoxon = 0, wilcoxon_p = 0;  // NaN when null
};

// One eval/*.json result file (docs/evaluation.md, "Result files").
struct EvalResultFile {
  std::filesystem::path path;
  std::string run;  // the run folder it was found in
  std::string recommender, task, part, split, config_fingerprint, model;
  std::string numeric_source;  // how numeric features were made; "" when the file predates it
  double users_evaluated = 0;
  std::vector<std::pair<std::string, double>> metrics;  // file order; NaN for null
  std::vector<std::string> notes;
  std::string baseline;  // empty without a significance block
  std::vector<std::pair<std::string, PairedSignificance>> significance;

  std::optional<double> metric(std::string_view name) const;
};

// Throws Error naming the file and line for invalid JSON, and the key for a missing or mistyped
// field ("recommender", "task" and "metrics" are required).
EvalResultFile read_eval_result(const std::filesystem::path& path);

// The run's resolved configuration (config.yaml, written by `pixelrec train`).
struct ConfigSummary {
  std::string fingerprint;  // Hasher over the file's bytes: what `evaluate` records
  std::vector<std::pair<std::string, std::string>> key_values;  // present keys, fixed order
  std::string early_stopping_metric;     // empty when the file does not set it
  std::string early_stopping_direction;  // auto | minimize | maximize
};

// Throws Error "<file>:<line>: ..." for YAML that does not parse.
ConfigSummary read_config_summary(const std::filesystem::path& path);

// The key paths shown in the run summary, in display order.
const std::vector<std::string>& summary_config_keys();

// True when a smaller value of `name` is better ("loss" in the name, or the Gini index).
bool lower_is_better(std::string_view name);

// The best epoch of `history` for `metric` (strictly better only; NaN never), as a row index.
std::optional<size_t> best_row(const MetricsHistory& history, std::string_view metric,
                               bool minimize);

}  // namespace pixelrec::report
