// Items: parsing item_info.csv (step 1), cleaning its text (step 2), repairing its counters
// (step 4) and grouping rare tags (step 6).
#include <cmath>

#include "core/errors.h"
#include "core/logging.h"
#include "core/strings.h"
#include "data/preprocess.h"
#include "data/text_clean.h"

namespace pixelrec {

namespace {

constexpr const char* kTextColumns[] = {"title", "description", "tag"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?
bool is_decimal_number(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exponent_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  return i == s.size();
}

bool names_non_finite(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  const std::string lower = to_lower_ascii(s);
  return lower == "nan" || lower == "inf" || lower == "infinity";
}

// Column positions of the raw file, resolved once from its header.
struct ItemColumns {
  size_t id = 0;
  std::optional<size_t> text[3];
  std::vector<size_t> numeric;
  std::vector<size_t> extra;
  bool display_title = false;  // append the title as written (the raw file has no such column)
};

ItemColumns resolve_columns(const CsvReader& reader, const Config& config, ItemTable& items,
                            PreprocessCounts& counts) {
  ItemColumns cols;
  cols.id = reader.require_column("item_id");
  auto& header = items.table.header;
  header = {"item_id", "title", "description", "tag"};
  for (size_t t = 0; t < 3; ++t) {
    cols.text[t] = reader.column(kTextColumns[t]);
    if (!cols.text[t]) counts.missing_text_columns.emplace_back(kTextColumns[t]);
  }
  for (const auto& name : config.data.numerical_features_cols) {
    const auto c = reader.column(name);
    if (!c)
      throw Error("'" + reader.source() + "' has no column '" + name +
                  "', which data.numerical_features_cols lists (columns present: " +
                  join(reader.header(), ", ") +
                  "); add the column to the file or remove it from data.numerical_features_cols");
    cols.numeric.push_back(*c);
    header.push_back(name);
  }
  for (size_t c = 0; c < reader.header().size(); ++c) {
    const std::string& name = reader.header()[c];
    bool known = name == "item_id" || name == "image_file";
    for (const char* text : kTextColumns) known = known || name == text;
    for (const auto& numeric : config.data.numerical_features_cols)
      known = known || name == numeric;
    if (known) continue;
    cols.extra.push_back(c);
    header.push_back(name);
  }
  cols.display_title = cols.text[0].has_value() && !reader.column(kDisplayTitleColumn);
  if (cols.display_title) header.emplace_back(kDisplayTitleColumn);
  items.table.columns.resize(header.size());
  return cols;
}

// The reason a raw row cannot be an item, or nullptr. `id` is set to whatever id it has.
// `key` is scratch space reused between rows.
const char* row_problem(const CsvRow& row, const CsvReader& reader, const ItemColumns& cols,
                        const ItemTable& items, std::string_view& id, std::string& key) {
  id = cols.id < row.fields.size() ? trim(row.fields[cols.id]) : std::string_view();
  if (!row.error.empty()) return kMalformedRow;
  if (row.fields.size() != reader.header().size()) return kWrongFieldCount;
  if (id.empty()) return kEmptyItemId;
  key.assign(id);
  if (items.index.count(key) != 0) return kDuplicateItemId;
  return nullptr;
}

class ItemParser {
 public:
  ItemParser(const Config& config, const std::string& label, IssueLog& repairs,
             PreprocessCounts& counts)
      : config_(config),
        label_(label),
        repairs_(repairs),
        counts_(counts),
        cleaner_(config.data.offline_text_cleaning) {}

  void add(const CsvRow& row, std::string_view id, const ItemColumns& cols, ItemTable& items) {
    auto& columns = items.table.columns;
    const auto index = static_cast<uint32_t>(items.size());
    columns[ItemTable::kIdColumn].emplace_back(id);
    for (size_t t = 0; t < 3; ++t)
      columns[ItemTable::kTitleColumn + t].push_back(clean_text(row, cols.text[t], t, id));
    size_t out = ItemTable::kTagColumn + 1;
    for (size_t k = 0; k < cols.numeric.size(); ++k, ++out)
      columns[out].emplace_back(repair_numeric(row.fields[cols.numeric[k]], k, row.line, id));
    for (size_t c : cols.extra) columns[out++].push_back(row.fields[c]);
    if (cols.display_title) {
      display_text(row.fields[*cols.text[0]], cleaned_, scratch_);
      columns[out++].push_back(cleaned_);
    }
    items.lines.push_back(row.line);
    items.index.emplace(columns[ItemTable::kIdColumn].back(), index);
  }

 private:
  const std::string& clean_text(const CsvRow& row, const std::optional<size_t>& column, size_t t,
                                std::string_view id) {
    cleaned_.clear();
    if (!column) return cleaned_;
    const TextCleanOutcome outcome = cleaner_.clean(row.fields[*column], cleaned_);
    if (outcome.missing) ++counts_.missing_text;
    if (outcome.html_removed) {
      ++counts_.html_removed;
      repairs_.add(label_, row.line, id, kHtmlRemoved, kTextColumns[t]);
    }
    if (outcome.invalid_utf8_repaired) {
      ++counts_.invalid_utf8_repaired;
      repairs_.add(label_, row.line, id, kInvalidUtf8Repaired, kTextColumns[t]);
    }
    return cleaned_;
  }

  std::string_view repair_numeric(const std::string& raw, size_t k, size_t line,
                                  std::string_view id) {
    const char* problem = numeric_problem(raw);
    if (problem == nullptr) return trim(raw);
    const std::string& column = config_.data.numerical_features_cols[k];
    ++counts_.numeric_by_reason[problem];
    ++counts_.numeric_by_column[column];
    repairs_.add(label_, line, id, problem, column);
    return "0";
  }

  const Config& config_;
  const std::string& label_;
  IssueLog& repairs_;
  PreprocessCounts& counts_;
  TextCleaner cleaner_;
  std::string cleaned_;
  std::string scratch_;
};

}  // namespace

const char* numeric_problem(std::string_view text) {
  const std::string_view t = trim(text);
  if (t.empty()) return kNumericMissing;
  if (names_non_finite(t)) return kNumericNotFinite;
  if (!is_decimal_number(t)) return kNumericNotANumber;
  const double value = parse_double(t).value_or(NAN);
  if (!std::isfinite(value)) return kNumericNotFinite;  // overflow, e.g. 1e999
  if (value < 0) return kNumericNegative;
  return nullptr;
}

TagGroupingResult group_rare_tags(std::vector<std::string>& tags, int threshold) {
  TagGroupingResult result;
  if (threshold <= 0) return result;
  std::unordered_map<std::string, size_t> items_per_tag;
  for (const auto& tag : tags)
    if (!tag.empty()) ++items_per_tag[tag];
  for (const auto& [tag, n] : items_per_tag)
    if (n < static_cast<size_t>(threshold) && tag != "other") ++result.tags_grouped;
  for (auto& tag : tags) {
    if (tag.empty() || tag == "other" || items_per_tag[tag] >= static_cast<size_t>(threshold))
      continue;
    tag = "other";
    ++result.items_grouped;
  }
  return result;
}

ItemTable parse_items(CsvReader& reader, const Config& config, const std::string& label,
                      IssueLog& rejects, IssueLog& repairs, PreprocessCounts& counts) {
  ItemTable items;
  const ItemColumns cols = resolve_columns(reader, config, items, counts);
  const size_t expected_rows = reader.bytes() / 64 + 16;
  items.index.reserve(expected_rows);
  for (auto& column : items.table.columns) column.reserve(expected_rows);
  ItemParser parser(config, label, repairs, counts);
  CsvRow row;
  std::string_view id;
  std::string key;
  while (reader.next(row)) {
    ++counts.item_rows;
    if (const char* problem = row_problem(row, reader, cols, items, id, key)) {
      rejects.add(label, row.line, id, problem);
      if (!id.empty() && problem != kDuplicateItemId) items.rejected_ids.emplace(id);
      continue;
    }
    parser.add(row, id, cols, items);
  }
  counts.items_parsed = items.size();
  if (!counts.missing_text_columns.empty())
    spdlog::warn("'{}' has no {} column: that text is empty for every item", reader.source(),
                 join(counts.missing_text_columns, "/"));
  if (counts.item_rows == 0)
    throw Error("'" + reader.source() +
                "' has a header but no item rows; add the items or point data.item_info_path at "
                "the right file");
  return items;
}

}  // namespace pixelrec
