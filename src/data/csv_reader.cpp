#include <cstring>

#include "core/errors.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/csv.h"

namespace pixelrec {

CsvReader::CsvReader(std::string data, std::string source)
    : data_(std::move(data)), source_(std::move(source)) {
  if (data_.size() >= 3 && std::memcmp(data_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  CsvRow header_row;
  if (!next(header_row))
    throw Error("'" + source_ + "' is empty: a header row is required (e.g. item_id,user_id,timestamp)");
  if (!header_row.error.empty())
    throw Error("'" + source_ + "' line " + std::to_string(header_row.line) +
                ": malformed header row: " + header_row.error);
  for (auto& name : header_row.fields) header_.emplace_back(trim(name));
}

CsvReader CsvReader::from_file(const std::filesystem::path& path) {
  return CsvReader(read_file(path, "CSV file"), path.string());
}

std::optional<size_t> CsvReader::column(std::string_view name) const {
  for (size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == name) return i;
  return std::nullopt;
}

size_t CsvReader::require_column(std::string_view name) const {
  if (auto c = column(name)) return *c;
  throw Error("'" + source_ + "' has no column '" + std::string(name) + "' (columns present: " +
              join(header_, ", ") + "); add the column or point the config at the right file");
}

bool CsvReader::next(CsvRow& row) {
  while (pos_ < data_.size()) {
    // Skip blank lines (LF or CRLF) between records.
    if (data_[pos_] == '\n') {
      ++pos_;
      ++line_;
      continue;
    }
    if (data_[pos_] == '\r' && pos_ + 1 < data_.size() && data_[pos_ + 1] == '\n') {
      pos_ += 2;
      ++line_;
      continue;
    }
    return parse_record(row);
  }
  return false;
}

bool CsvReader::parse_record(CsvRow& row) {
  const size_t start_pos = pos_;
  const size_t start_line = line_;
  row.line = line_;
  row.error.clear();
  size_t nfields = 0;
  const size_t n = data_.size();
  auto field = [&]() -> std::string& {
    if (row.fields.size() <= nfields) row.fields.emplace_back();
    std::string& f = row.fields[nfields];
    f.clear();
    return f;
  };
  // Ends the record at the next physical newline, after a malformed field.
  auto resync = [&](size_t from) {
    size_t nl = data_.find('\n', from);
    pos_ = nl == std::string::npos ? n : nl + 1;
    line_ = line_ + (nl == std::string::npos ? 0 : 1);
  };

  while (true) {
    std::string& f = field();
    ++nfields;
    if (pos_ < n && data_[pos_] == '"') {
      ++pos_;
      while (true) {
        if (pos_ >= n) {
          // Unterminated quote: reject only the starting line and continue after it, so one
          // stray quote never swallows the rest of the file.
          row.error = "unterminated quoted field";
          line_ = start_line;
          resync(start_pos);
          row.fields.resize(nfields);
          return true;
        }
        const char c = data_[pos_];
        if (c == '"') {
          if (pos_ + 1 < n && data_[pos_ + 1] == '"') {
            f.push_back('"');
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\n') ++line_;
        f.push_back(c);
        ++pos_;
      }
      // After a closing quote: a separator, a line end or the end of input.
      if (pos_ < n && data_[pos_] != ',' && data_[pos_] != '\n' && data_[pos_] != '\r') {
        row.error = "unexpected character after closing quote";
        resync(pos_);
        row.fields.resize(nfields);
        return true;
      }
    } else {
      const size_t begin = pos_;
      while (pos_ < n && data_[pos_] != ',' && data_[pos_] != '\n' && data_[pos_] != '\r') ++pos_;
      f.assign(data_, begin, pos_ - begin);
    }
    if (pos_ >= n) break;
    if (data_[pos_] == ',') {
      ++pos_;
      continue;
    }
    // Line end: LF, CRLF or a lone CR.
    if (data_[pos_] == '\r') ++pos_;
    if (pos_ < n && data_[pos_] == '\n') ++pos_;
    ++line_;
    break;
  }
  row.fields.resize(nfields);
  return true;
}

std::optional<size_t> CsvTable::column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  return std::nullopt;
}

size_t CsvTable::require_column(std::string_view name, const std::string& source) const {
  if (auto c = column(name)) return *c;
  throw Error("'" + source + "' has no column '" + std::string(name) + "' (columns present: " +
              join(header, ", ") + ")");
}

CsvTable read_csv_table(const std::filesystem::path& path) {
  CsvReader reader = CsvReader::from_file(path);
  CsvTable table;
  table.header = reader.header();
  table.columns.resize(table.header.size());
  CsvRow row;
  while (reader.next(row)) {
    if (!row.error.empty() || row.fields.size() != table.header.size())
      throw Error("'" + path.string() + "' line " + std::to_string(row.line) + ": " +
                  (row.error.empty() ? "expected " + std::to_string(table.header.size()) +
                                           " fields, found " + std::to_string(row.fields.size())
                                     : row.error) +
                  " (this file should be written by pixelrec; regenerate it)");
    for (size_t c = 0; c < row.fields.size(); ++c) table.columns[c].push_back(row.fields[c]);
  }
  return table;
}

}  // namespace pixelrec
