// Leak-free numeric item features (data.numeric_source: train_interactions): counters computed
// from the training split alone, instead of the catalogue's lifetime counters (views, comments,
// ...), which were collected after the interactions being predicted and so carry the future
// popularity of val/test items. A cold item has no training interaction: every counter is 0, as
// the popularity baseline sees it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "data/id_map.h"

namespace pixelrec::features {

inline constexpr const char* kCatalogueNumericSource = "catalogue";
inline constexpr const char* kTrainingNumericSource = "train_interactions";

struct TrainingCounters {
  // train_interactions, train_users, and train_recent_share (the share of the item's training
  // interactions in the last 20% of the training period) when train.csv has timestamps.
  std::vector<std::string> columns;
  std::vector<double> values;  // items × columns, row-major, by item index
};

// Counters of the first `items` item indices of `item_map` from `train_csv` (user_id, item_id[,
// timestamp]); rows of unknown items are counted as skipped, not silently dropped.
TrainingCounters training_counters(const std::filesystem::path& train_csv, const IdMap& item_map,
                                   size_t items);

// The numeric source a store's numeric block was cached from (its description JSON; stores cached
// before the choice existed: catalogue).
std::string numeric_source_of(const std::string& numeric_description);

// One line for result files: which numeric source fed the features, and whether it can leak.
std::string describe_numeric_source(const std::string& source, bool numeric_used);

}  // namespace pixelrec::features
