// Interactions: parsing interactions.csv (step 1) with interned ids, timestamp normalisation to
// unix seconds, and exact-duplicate detection.
#include <unordered_set>

#include "core/errors.h"
#include "core/strings.h"
#include "data/preprocess.h"

namespace pixelrec {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads `n` digits at `s[pos]`; nullopt when any is not a digit.
std::optional<int> digits_at(std::string_view s, size_t pos, size_t n) {
  int value = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i])) return std::nullopt;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// "1609459200" or "1609459200.75" (the fraction is dropped).
std::optional<int64_t> parse_epoch_seconds(std::string_view s) {
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  if (whole.empty() || whole.size() > 18) return std::nullopt;
  for (char c : whole)
    if (!is_digit(c)) return std::nullopt;
  if (dot != std::string_view::npos)
    for (char c : s.substr(dot + 1))
      if (!is_digit(c)) return std::nullopt;
  return parse_int(whole);
}

// YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, YYYY-MM-DDTHH:MM:SS, each optionally ending in Z.
std::optional<int64_t> parse_iso_date(std::string_view s) {
  if (!s.empty() && s.back() == 'Z') s.remove_suffix(1);
  if (s.size() != 10 && s.size() != 19) return std::nullopt;
  if (s[4] != '-' || s[7] != '-') return std::nullopt;
  const auto year = digits_at(s, 0, 4), month = digits_at(s, 5, 2), day = digits_at(s, 8, 2);
  if (!year || !month || !day || *month < 1 || *month > 12 || *day < 1 ||
      *day > days_in_month(*year, *month))
    return std::nullopt;
  int64_t seconds = days_from_civil(*year, *month, *day) * 86400;
  if (s.size() == 10) return seconds;
  if ((s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':') return std::nullopt;
  const auto hour = digits_at(s, 11, 2), minute = digits_at(s, 14, 2), second = digits_at(s, 17, 2);
  if (!hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 59)
    return std::nullopt;
  return seconds + *hour * 3600 + *minute * 60 + *second;
}

struct InteractionKey {
  uint32_t item;
  uint32_t user;
  int64_t timestamp;
  bool operator==(const InteractionKey& o) const {
    return item == o.item && user == o.user && timestamp == o.timestamp;
  }
};

struct InteractionKeyHash {
  size_t operator()(const InteractionKey& k) const {
    uint64_t h = (static_cast<uint64_t>(k.item) << 32) | k.user;
    h ^= static_cast<uint64_t>(k.timestamp) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

// Dense index of `id`, adding it when new. `key` is scratch space reused between rows.
uint32_t intern(std::unordered_map<std::string, uint32_t>& map, std::vector<std::string>& names,
                std::string_view id, std::string& key) {
  key.assign(id);
  const auto [it, inserted] = map.try_emplace(key, static_cast<uint32_t>(names.size()));
  if (inserted) names.push_back(key);
  return it->second;
}

struct InteractionColumns {
  size_t item = 0, user = 0, timestamp = 0;
  std::vector<size_t> extra;
};

InteractionColumns resolve_columns(const CsvReader& reader, InteractionTable& table) {
  InteractionColumns cols;
  cols.item = reader.require_column("item_id");
  cols.user = reader.require_column("user_id");
  cols.timestamp = reader.require_column("timestamp");
  for (size_t c = 0; c < reader.header().size(); ++c) {
    if (c == cols.item || c == cols.user || c == cols.timestamp) continue;
    cols.extra.push_back(c);
    table.extra_header.push_back(reader.header()[c]);
  }
  return cols;
}

std::string_view field_or_empty(const CsvRow& row, size_t column) {
  return column < row.fields.size() ? trim(row.fields[column]) : std::string_view();
}

}  // namespace

std::optional<int64_t> parse_timestamp(std::string_view text) {
  const std::string_view s = trim(text);
  if (s.empty()) return std::nullopt;
  if (s.size() >= 10 && s[4] == '-') return parse_iso_date(s);
  return parse_epoch_seconds(s);
}

InteractionTable parse_interactions(CsvReader& reader, const std::string& label, IssueLog& rejects,
                                    PreprocessCounts& counts) {
  InteractionTable table;
  const InteractionColumns cols = resolve_columns(reader, table);
  const size_t expected_rows = reader.bytes() / 24 + 16;
  table.rows.reserve(expected_rows);
  std::unordered_map<std::string, uint32_t> item_map, user_map;
  item_map.reserve(expected_rows / 8);
  user_map.reserve(expected_rows / 8);
  std::unordered_set<InteractionKey, InteractionKeyHash> seen;
  seen.reserve(expected_rows);
  CsvRow row;
  std::string key;
  while (reader.next(row)) {
    ++counts.interaction_rows;
    const std::string_view user = field_or_empty(row, cols.user);
    const std::string_view item = field_or_empty(row, cols.item);
    const char* problem = nullptr;
    std::optional<int64_t> timestamp;
    if (!row.error.empty())
      problem = kMalformedRow;
    else if (row.fields.size() != reader.header().size())
      problem = kWrongFieldCount;
    else if (user.empty())
      problem = kEmptyId;
    else if (item.empty())
      problem = kEmptyItemId;
    else if (!(timestamp = parse_timestamp(row.fields[cols.timestamp])))
      problem = kBadTimestamp;
    if (problem) {
      rejects.add(label, row.line, user, problem);
      continue;
    }
    const InteractionTable::Row parsed{intern(item_map, table.item_ids, item, key),
                                       intern(user_map, table.user_ids, user, key), *timestamp,
                                       row.line};
    if (!seen.insert({parsed.item, parsed.user, parsed.timestamp}).second) {
      rejects.add(label, row.line, user, kDuplicateInteraction);
      continue;
    }
    table.rows.push_back(parsed);
    for (size_t c : cols.extra) table.extras.push_back(row.fields[c]);
  }
  counts.interactions_parsed = table.rows.size();
  if (counts.interaction_rows == 0)
    throw Error("'" + reader.source() +
                "' has a header but no interaction rows; add the interactions or point "
                "data.interactions_path at the right file");
  return table;
}

}  // namespace pixelrec
