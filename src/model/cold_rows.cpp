#include "model/cold_rows.h"

#include <fmt/format.h>

namespace pixelrec::model {

ColdIds count_cold_ids(const SplitData& split) {
  ColdIds cold;
  for (uint8_t in_train : split.item_in_train) cold.items += in_train ? 0 : 1;
  cold.users = split.cold_user_ids.size();
  return cold;
}

std::string resolve_id_dropout(ModelConfig& model, const ColdIds& cold) {
  std::string said;
  const auto resolve = [&](std::optional<double>& rate, size_t count, const char* what) {
    if (rate) return;
    rate = count > 0 ? kDefaultIdDropout : 0.0;
    said += fmt::format("{}model.{}_id_dropout {} ({} {}s training never saw)",
                        said.empty() ? "" : "; ", what, *rate, count, what);
  };
  resolve(model.item_id_dropout, cold.items, "item");
  resolve(model.user_id_dropout, cold.users, "user");
  return said;
}

}  // namespace pixelrec::model
