// Interactions for eval unit tests: from per-user item lists (user u = row u), or appended for
// one user (timestamp 0).
#pragma once

#include <cstdint>
#include <initializer_list>
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

inline void add(IndexedInteractions& part, uint32_t user, std::initializer_list<uint32_t> items) {
  for (uint32_t item : items) {
    part.user.push_back(user);
    part.item.push_back(item);
    part.timestamp.push_back(0);
  }
}

}  // namespace pixelrec::eval
