// Cold items and cold users (absent from training) are scored with the shared unknown-item and
// unknown-user rows; id dropout is what trains those rows. Left unset, it is on at
// kDefaultIdDropout exactly when the split has such ids.
#pragma once

#include <string>

#include "core/config.h"
#include "data/split_data.h"

namespace pixelrec::model {

// 10% of a batch's distinct items (users) then train the unknown row: hundreds of examples per
// batch of the default size, while 90% of ids still learn their own rows.
inline constexpr double kDefaultIdDropout = 0.1;

struct ColdIds {
  size_t items = 0;  // catalogue items without training interactions (candidates in ranking)
  size_t users = 0;  // val/test users without training interactions
};
ColdIds count_cold_ids(const SplitData& split);

// Fills model.item_id_dropout / user_id_dropout where unset; returns what was chosen and why (a
// log line), "" when both were set.
std::string resolve_id_dropout(ModelConfig& model, const ColdIds& cold);

}  // namespace pixelrec::model
