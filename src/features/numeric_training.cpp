#include "features/numeric_training.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/errors.h"
#include "core/strings.h"
#include "data/csv.h"

namespace pixelrec::features {

TrainingCounters training_counters(const std::filesystem::path& train_csv, const IdMap& item_map,
                                   size_t items) {
  CsvReader reader = CsvReader::from_file(train_csv);
  const size_t item_col = reader.require_column("item_id");
  const size_t user_col = reader.require_column("user_id");
  const auto time_col = reader.column("timestamp");
  std::vector<std::pair<uint32_t, std::string>> item_users;  // for distinct users per item
  std::vector<std::pair<uint32_t, double>> item_times;
  std::vector<double> interactions(items, 0.0);
  CsvRow row;
  size_t line = 1;
  while (reader.next(row)) {
    ++line;
    const auto index = item_map.find(row.fields.at(item_col));
    if (!index || *index >= items) continue;  // outside the cached items (cache --max-items)
    interactions[*index] += 1;
    item_users.emplace_back(*index, row.fields.at(user_col));
    if (!time_col) continue;
    const auto t = parse_double(row.fields.at(*time_col));
    if (!t)
      throw Error("'" + train_csv.string() + "' line " + std::to_string(line) + ": timestamp '" +
                  row.fields.at(*time_col) + "' is not a number; rerun `pixelrec split`");
    item_times.emplace_back(*index, *t);
  }
  TrainingCounters out;
  out.columns = {"train_interactions", "train_users"};
  if (time_col) out.columns.push_back("train_recent_share");
  const size_t cols = out.columns.size();
  out.values.assign(items * cols, 0.0);
  std::sort(item_users.begin(), item_users.end());
  item_users.erase(std::unique(item_users.begin(), item_users.end()), item_users.end());
  for (size_t i = 0; i < items; ++i) out.values[i * cols] = interactions[i];
  for (const auto& [item, user] : item_users) out.values[item * cols + 1] += 1;
  if (time_col && !item_times.empty()) {
    const auto [lo, hi] =
        std::minmax_element(item_times.begin(), item_times.end(),
                            [](const auto& a, const auto& b) { return a.second < b.second; });
    const double recent_from = lo->second + 0.8 * (hi->second - lo->second);
    for (const auto& [item, t] : item_times)
      if (t >= recent_from) out.values[item * cols + 2] += 1;
    for (size_t i = 0; i < items; ++i)
      if (interactions[i] > 0) out.values[i * cols + 2] /= interactions[i];
  }
  return out;
}

std::string numeric_source_of(const std::string& numeric_description) {
  const auto j = nlohmann::json::parse(numeric_description, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("source") && j["source"].is_string())
    return j["source"].get<std::string>();
  return kCatalogueNumericSource;
}

std::string describe_numeric_source(const std::string& source, bool numeric_used) {
  if (!numeric_used) return "none";
  if (source == kTrainingNumericSource)
    return "train_interactions (counters from the training split only: leak-free)";
  return "catalogue (the item file's lifetime counters, collected after the interactions: they "
         "can leak val/test popularity)";
}

}  // namespace pixelrec::features
