// RFC 4180 CSV: quoted fields may hold commas, doubled quotes and newlines; CRLF or LF line ends;
// a UTF-8 BOM is skipped. The reader never throws on a bad row: it reports the row (with the
// physical line where it starts) so the caller can reject it, then resynchronises.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace pixelrec {

struct CsvRow {
  size_t line = 0;                  // 1-based physical line where the record starts
  std::vector<std::string> fields;  // capacity is reused between rows
  std::string error;                // non-empty: the row is malformed (fields are partial)
};

class CsvReader {
 public:
  // Parses `data` (a whole file); `source` names it in messages. Reads the header row.
  CsvReader(std::string data, std::string source);
  static CsvReader from_file(const std::filesystem::path& path);

  const std::vector<std::string>& header() const { return header_; }
  const std::string& source() const { return source_; }
  std::optional<size_t> column(std::string_view name) const;
  // The column index or an Error naming the file, the missing column and the columns present.
  size_t require_column(std::string_view name) const;

  // Reads the next record into `row`; false at end of input. Blank lines are skipped.
  bool next(CsvRow& row);

  size_t bytes() const { return data_.size(); }

 private:
  bool parse_record(CsvRow& row);

  std::string data_;
  std::string source_;
  size_t pos_ = 0;
  size_t line_ = 1;
  std::vector<std::string> header_;
};

// Writes RFC 4180 rows; quotes a field only when it needs it.
class CsvWriter {
 public:
  explicit CsvWriter(std::ostream& out) : out_(out) {}
  void write_row(const std::vector<std::string>& fields);
  void write_row(std::initializer_list<std::string_view> fields);

 private:
  void write_field(std::string_view field);
  std::ostream& out_;
};

// A fully-parsed, well-formed CSV file held by column (processed files, splits, fixtures).
// Any malformed row is an Error: these files are written by pixelrec itself.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> columns;
  size_t rows() const { return columns.empty() ? 0 : columns[0].size(); }
  std::optional<size_t> column(std::string_view name) const;
  size_t require_column(std::string_view name, const std::string& source) const;
};

CsvTable read_csv_table(const std::filesystem::path& path);
void write_csv_table_atomic(const std::filesystem::path& path, const CsvTable& table);

}  // namespace pixelrec
