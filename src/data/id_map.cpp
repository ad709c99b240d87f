#include "data/id_map.h"

#include <algorithm>

#include "core/errors.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/csv.h"

namespace pixelrec {

namespace {

bool is_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view strip_leading_zeros(std::string_view s) {
  const size_t first = s.find_first_not_of('0');
  return first == std::string_view::npos ? std::string_view() : s.substr(first);
}

// Numeric order for digit strings without parsing (ids may exceed 64 bits): shorter is smaller
// once leading zeros are gone; "01" and "1" are then ordered byte-wise so the order stays total.
bool numeric_less(std::string_view a, std::string_view b) {
  const std::string_view sa = strip_leading_zeros(a), sb = strip_leading_zeros(b);
  if (sa.size() != sb.size()) return sa.size() < sb.size();
  if (const int c = sa.compare(sb); c != 0) return c < 0;
  return a < b;
}

bool id_less(std::string_view a, std::string_view b, bool numeric) {
  return numeric ? numeric_less(a, b) : a < b;
}

}  // namespace

bool all_digit_ids(const std::vector<std::string>& ids) {
  return std::all_of(ids.begin(), ids.end(), [](const std::string& id) { return is_digits(id); });
}

void sort_ids(std::vector<std::string>& ids) {
  const bool numeric = all_digit_ids(ids);
  std::sort(ids.begin(), ids.end(), [numeric](const std::string& a, const std::string& b) {
    return id_less(a, b, numeric);
  });
}

IdMap IdMap::from_ids(std::vector<std::string> ids) {
  IdMap map;
  map.numeric_ = all_digit_ids(ids);
  sort_ids(ids);
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  map.ids_ = std::move(ids);
  return map;
}

std::optional<uint32_t> IdMap::find(std::string_view id) const {
  const bool numeric = numeric_;
  const auto it = std::lower_bound(
      ids_.begin(), ids_.end(), id,
      [numeric](const std::string& a, std::string_view b) { return id_less(a, b, numeric); });
  if (it == ids_.end() || *it != id) return std::nullopt;
  return static_cast<uint32_t>(it - ids_.begin());
}

IdMap IdMap::load(const std::filesystem::path& path, std::string_view id_column) {
  CsvReader reader = CsvReader::from_file(path);
  const size_t index_col = reader.require_column("index");
  const size_t id_col = reader.require_column(id_column);
  const std::string fix = " (the id map is written by 'pixelrec split'; rerun it)";
  std::vector<std::string> ids;
  CsvRow row;
  while (reader.next(row)) {
    const std::string where = "'" + path.string() + "' line " + std::to_string(row.line) + ": ";
    if (!row.error.empty() || row.fields.size() != reader.header().size())
      throw Error(where + (row.error.empty() ? "wrong number of fields" : row.error) + fix);
    const auto index = parse_int(row.fields[index_col]);
    if (!index || *index != static_cast<int64_t>(ids.size()))
      throw Error(where + "index '" + row.fields[index_col] + "' should be " +
                  std::to_string(ids.size()) + fix);
    ids.push_back(row.fields[id_col]);
  }
  IdMap map;
  map.numeric_ = all_digit_ids(ids);
  for (size_t i = 1; i < ids.size(); ++i)
    if (!id_less(ids[i - 1], ids[i], map.numeric_))
      throw Error("'" + path.string() + "': id '" + ids[i] + "' at index " + std::to_string(i) +
                  " is duplicated or out of order" + fix);
  map.ids_ = std::move(ids);
  return map;
}

void IdMap::save(const std::filesystem::path& path, std::string_view id_column,
                 const std::vector<IdMapColumn>& extra) const {
  for (const auto& column : extra)
    PIXELREC_CHECK(column.values.size() == ids_.size(),
                   "id map column '" + column.name + "' has the wrong length");
  ensure_parent_directory(path);
  write_stream_atomic(path, [&](std::ostream& out) {
    CsvWriter writer(out);
    std::vector<std::string> row{"index", std::string(id_column)};
    for (const auto& column : extra) row.push_back(column.name);
    writer.write_row(row);
    for (size_t i = 0; i < ids_.size(); ++i) {
      row[0] = std::to_string(i);
      row[1] = ids_[i];
      for (size_t c = 0; c < extra.size(); ++c) row[2 + c] = extra[c].values[i];
      writer.write_row(row);
    }
  });
}

}  // namespace pixelrec
