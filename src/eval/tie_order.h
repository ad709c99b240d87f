// The evaluation tie rule. Equal scores are ordered by a seeded per-user pseudo-random key, so a
// scorer that cannot tell items apart ranks like random: item indices follow sorted ids, and
// real ids are not neutral (they follow catalogue age and popularity). The key depends only on
// (seed, user, item), so every rank and item shard orders a user's items identically.
#pragma once

#include <cstdint>

#include "core/rng.h"

namespace pixelrec::eval {

class TieOrder {
 public:
  TieOrder(uint64_t seed, uint32_t user) : salt_(Rng::stream(seed, {kPurpose, user}).next()) {}

  // splitmix64 of (salt ^ item): a bijection of the item, so distinct items never share a key.
  uint64_t key(uint32_t item) const {
    uint64_t state = salt_ ^ item;
    return splitmix64(state);
  }

 private:
  static constexpr uint64_t kPurpose = 0x74696573ull;  // "ties": stream purpose key
  uint64_t salt_;
};

// Among equal scores, the user's candidate with the smaller key ranks first.
inline uint64_t tie_key(uint64_t seed, uint32_t user, uint32_t item) {
  return TieOrder(seed, user).key(item);
}

}  // namespace pixelrec::eval
