// Dense indices for string ids (users, items): built once by `pixelrec split` from the training
// split and the item catalogue, saved beside the split as `index,<id>` CSV, and reloaded by every
// later step so that an index means the same user or item everywhere.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pixelrec {

// The id ordering rule: numeric order when every id is a string of digits ("2" < "10"), plain
// byte-wise order otherwise.
bool all_digit_ids(const std::vector<std::string>& ids);
void sort_ids(std::vector<std::string>& ids);

// An extra column written after `index,<id>` (e.g. item_map.csv's in_train), one value per index.
struct IdMapColumn {
  std::string name;
  std::vector<std::string> values;
};

class IdMap {
 public:
  IdMap() = default;

  // Deduplicates `ids` and orders them by the id ordering rule; index i is the i-th id.
  static IdMap from_ids(std::vector<std::string> ids);

  // Reads a map written by save(); throws Error naming the file, line and the fix when the
  // columns are missing or the indices are not 0, 1, 2, ... in the id order.
  static IdMap load(const std::filesystem::path& path, std::string_view id_column);

  // Writes `index,<id_column>[,extra...]` atomically.
  void save(const std::filesystem::path& path, std::string_view id_column,
            const std::vector<IdMapColumn>& extra = {}) const;

  size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  const std::vector<std::string>& ids() const { return ids_; }
  const std::string& id(uint32_t index) const { return ids_.at(index); }

  // The index of `id`, or nullopt when it is not in the map. No allocation.
  std::optional<uint32_t> find(std::string_view id) const;
  bool contains(std::string_view id) const { return find(id).has_value(); }

 private:
  std::vector<std::string> ids_;  // sorted by the id ordering rule, unique
  bool numeric_ = false;          // every id is digits: ids_ are in numeric order
};

}  // namespace pixelrec
