// A split loaded for training and evaluation: the id maps written by `pixelrec split` and the
// train/val/test interactions as dense indices, plus per-user item lists (CSR) for exclusion
// checks. Users of val/test that are absent from training (cold users) get indices after the
// training users, so every user has one index and `is_cold_user` tells them apart.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/id_map.h"

namespace pixelrec {

struct IndexedInteractions {
  std::vector<uint32_t> user;
  std::vector<uint32_t> item;
  std::vector<int64_t> timestamp;
  size_t size() const { return user.size(); }
};

// Per-user sorted, de-duplicated item lists in compressed sparse row form.
class UserItemIndex {
 public:
  UserItemIndex() = default;
  UserItemIndex(uint32_t num_users, const IndexedInteractions& interactions);
  // Union of several interaction sets (e.g. train + val + test: every item a user is known for).
  UserItemIndex(uint32_t num_users, const std::vector<const IndexedInteractions*>& parts);

  uint32_t num_users() const { return offsets_.empty() ? 0 : uint32_t(offsets_.size() - 1); }
  const uint32_t* begin(uint32_t user) const { return items_.data() + offsets_[user]; }
  const uint32_t* end(uint32_t user) const { return items_.data() + offsets_[user + 1]; }
  size_t count(uint32_t user) const { return offsets_[user + 1] - offsets_[user]; }
  bool contains(uint32_t user, uint32_t item) const;  // binary search, no allocation
  size_t total() const { return items_.size(); }

 private:
  std::vector<uint64_t> offsets_;
  std::vector<uint32_t> items_;
};

struct SplitData {
  IdMap user_map;                          // training users: indices [0, num_train_users)
  IdMap item_map;                          // the whole catalogue (feature-store order)
  std::vector<uint8_t> item_in_train;      // per item index
  std::vector<std::string> cold_user_ids;  // user index num_train_users + k ↔ cold_user_ids[k]
  IndexedInteractions train, val, test;
  std::filesystem::path directory;

  uint32_t num_train_users() const { return uint32_t(user_map.size()); }
  uint32_t num_users() const { return uint32_t(user_map.size() + cold_user_ids.size()); }
  uint32_t num_items() const { return uint32_t(item_map.size()); }
  bool is_cold_user(uint32_t user) const { return user >= num_train_users(); }
  bool is_cold_item(uint32_t item) const { return !item_in_train[item]; }
  const std::string& user_id(uint32_t user) const;
  // Training interactions per item (popularity from training data only).
  std::vector<int64_t> train_item_counts() const;
};

// Loads user_map.csv, item_map.csv and train/val/test from the config's split paths. Throws
// Error naming the file and line for unknown items, malformed rows or missing files (with the
// command that creates them).
SplitData load_split_data(const Config& config);

}  // namespace pixelrec
