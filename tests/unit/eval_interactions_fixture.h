// Training interactions from per-user item lists (user u = row u), for baseline unit tests.
#pragma once

#include <cstdint>
#include <vector>

#include "data/split_data.h"

namespace pixelrec::eval {

inline IndexedInteractions interactions_of(const std::vector<std::vector<uint32_t>>& rows) {
  IndexedInteractions part;
  for (uint32_t u = 0; u < rows.size(); ++u)
    for (uint32_t i : rows[u]) {
      part.user.push_back(u);
      part.item.push_back(i);
      part.timestamp.push_back(int64_t(part.size()));
    }
  return part;
}

}  // namespace pixelrec::eval
