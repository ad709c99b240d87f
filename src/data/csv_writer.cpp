#include "core/files.h"
#include "data/csv.h"

namespace pixelrec {

void CsvWriter::write_field(std::string_view field) {
  const bool needs_quotes =
      field.find_first_of(",\"\n\r") != std::string_view::npos ||
      (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!needs_quotes) {
    out_ << field;
    return;
  }
  out_ << '"';
  for (char c : field) {
    if (c == '"') out_ << '"';
    out_ << c;
  }
  out_ << '"';
}

void CsvWriter::write_row(const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out_ << ',';
    write_field(fields[i]);
  }
  out_ << '\n';
}

void CsvWriter::write_row(std::initializer_list<std::string_view> fields) {
  bool first = true;
  for (auto f : fields) {
    if (!first) out_ << ',';
    first = false;
    write_field(f);
  }
  out_ << '\n';
}

void write_csv_table_atomic(const std::filesystem::path& path, const CsvTable& table) {
  write_stream_atomic(path, [&](std::ostream& out) {
    CsvWriter writer(out);
    writer.write_row(table.header);
    std::vector<std::string> row(table.header.size());
    for (size_t r = 0; r < table.rows(); ++r) {
      for (size_t c = 0; c < row.size(); ++c) row[c] = table.columns[c][r];
      writer.write_row(row);
    }
  });
}

}  // namespace pixelrec
