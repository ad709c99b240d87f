#include "data/split_data.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "core/errors.h"
#include "data/csv.h"

namespace pixelrec {
namespace fs = std::filesystem;

namespace {

void build_csr(uint32_t num_users, const std::vector<const IndexedInteractions*>& parts,
               std::vector<uint64_t>& offsets, std::vector<uint32_t>& items) {
  offsets.assign(size_t(num_users) + 1, 0);
  for (const auto* part : parts)
    for (uint32_t u : part->user) ++offsets[u + 1];
  for (uint32_t u = 0; u < num_users; ++u) offsets[u + 1] += offsets[u];
  items.resize(offsets.back());
  std::vector<uint64_t> cursor(offsets.begin(), offsets.end() - 1);
  for (const auto* part : parts)
    for (size_t r = 0; r < part->size(); ++r) items[cursor[part->user[r]]++] = part->item[r];
  // Sort and de-duplicate each row, compacting in place.
  uint64_t write = 0;
  for (uint32_t u = 0; u < num_users; ++u) {
    auto first = items.begin() + offsets[u], last = items.begin() + offsets[u + 1];
    std::sort(first, last);
    auto unique_end = std::unique(first, last);
    const uint64_t n = uint64_t(unique_end - first);
    std::copy(first, unique_end, items.begin() + write);
    offsets[u] = write;
    write += n;
  }
  offsets[num_users] = write;
  items.resize(write);
}

int64_t parse_timestamp(const std::string& text, const std::string& source, size_t line) {
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size())
    throw Error(source + ":" + std::to_string(line) + ": timestamp '" + text +
                "' is not an integer; re-run `pixelrec preprocess` and `pixelrec split`");
  return value;
}

// Reads one split file; users missing from the training map become cold users.
IndexedInteractions load_part(const fs::path& path, SplitData& data,
                              std::unordered_map<std::string, uint32_t>& cold_index) {
  if (!fs::exists(path))
    throw Error("split file " + path.string() + " does not exist; run `pixelrec split` first");
  CsvReader reader = CsvReader::from_file(path);
  const size_t user_col = reader.require_column("user_id");
  const size_t item_col = reader.require_column("item_id");
  const auto time_col = reader.column("timestamp");
  IndexedInteractions out;
  CsvRow row;
  while (reader.next(row)) {
    if (!row.error.empty())
      throw Error(path.string() + ":" + std::to_string(row.line) + ": " + row.error);
    const std::string& item_id = row.fields[item_col];
    const auto item = data.item_map.find(item_id);
    if (!item)
      throw Error(path.string() + ":" + std::to_string(row.line) + ": item '" + item_id +
                  "' is not in " + (data.directory / "item_map.csv").string() +
                  "; the split and its maps are out of date: re-run `pixelrec split`");
    const std::string& user_id = row.fields[user_col];
    uint32_t user;
    if (const auto known = data.user_map.find(user_id)) {
      user = *known;
    } else {
      auto [it, inserted] = cold_index.emplace(user_id, data.num_users());
      if (inserted) data.cold_user_ids.push_back(user_id);
      user = it->second;
    }
    out.user.push_back(user);
    out.item.push_back(*item);
    out.timestamp.push_back(
        time_col ? parse_timestamp(row.fields[*time_col], path.string(), row.line) : 0);
  }
  return out;
}

}  // namespace

UserItemIndex::UserItemIndex(uint32_t num_users, const IndexedInteractions& interactions)
    : UserItemIndex(num_users, std::vector<const IndexedInteractions*>{&interactions}) {}

UserItemIndex::UserItemIndex(uint32_t num_users,
                             const std::vector<const IndexedInteractions*>& parts) {
  build_csr(num_users, parts, offsets_, items_);
}

bool UserItemIndex::contains(uint32_t user, uint32_t item) const {
  if (user >= num_users()) return false;
  return std::binary_search(begin(user), end(user), item);
}

const std::string& SplitData::user_id(uint32_t user) const {
  return user < num_train_users() ? user_map.id(user) : cold_user_ids.at(user - num_train_users());
}

std::vector<int64_t> SplitData::train_item_counts() const {
  std::vector<int64_t> counts(num_items(), 0);
  for (uint32_t item : train.item) ++counts[item];
  return counts;
}

SplitData load_split_data(const Config& config) {
  SplitData data;
  data.directory = config.data.split_data_path;
  const fs::path user_map = data.directory / "user_map.csv";
  const fs::path item_map = data.directory / "item_map.csv";
  for (const auto& path : {user_map, item_map})
    if (!fs::exists(path))
      throw Error(path.string() + " does not exist; run `pixelrec split` to create the split");
  data.user_map = IdMap::load(user_map, "user_id");
  data.item_map = IdMap::load(item_map, "item_id");
  const CsvTable table = read_csv_table(item_map);
  const size_t in_train = table.require_column("in_train", item_map.string());
  data.item_in_train.resize(data.item_map.size());
  for (size_t i = 0; i < data.item_map.size(); ++i)
    data.item_in_train[i] = table.columns[in_train][i] == "1";

  std::unordered_map<std::string, uint32_t> cold_index;
  data.train = load_part(config.train_path(), data, cold_index);
  if (!data.cold_user_ids.empty())
    throw Error(config.train_path() + ": user '" + data.cold_user_ids.front() + "' is not in " +
                user_map.string() +
                "; the split and its maps are out of date: re-run `pixelrec split`");
  data.val = load_part(config.val_path(), data, cold_index);
  data.test = load_part(config.test_path(), data, cold_index);
  return data;
}

}  // namespace pixelrec
