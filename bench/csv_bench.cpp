// CSV parse throughput: pixelrec::CsvReader over an interactions-like file and an item file with
// quoted multi-line text, next to a memchr line count over the same bytes (the floor any parser
// pays to look at every byte), measured in the same run.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/rng.h"
#include "core/stopwatch.h"
#include "data/csv.h"

namespace {

using Clock = std::chrono::steady_clock;
using pixelrec::seconds_since;

std::string make_interactions(size_t rows) {
  pixelrec::Rng rng(1);
  std::string s = "item_id,user_id,timestamp\n";
  s.reserve(rows * 28);
  for (size_t i = 0; i < rows; ++i) {
    s += std::to_string(rng.below(82865)) + "," + std::to_string(rng.below(50000)) + "," +
         std::to_string(1609459200 + rng.below(15552000)) + "\n";
  }
  return s;
}

std::string make_items(size_t rows) {
  pixelrec::Rng rng(2);
  std::string s = "item_id,title,description,tag,view_number\n";
  for (size_t i = 0; i < rows; ++i) {
    s += std::to_string(i) + ",some title words here,";
    s += (i % 10 == 0) ? "\"a description, with \"\"quotes\"\"\nand a newline\""
                       : "a plain description of a few words for the item";
    s += ",tag" + std::to_string(rng.below(30)) + "," + std::to_string(rng.below(100000)) + "\n";
  }
  return s;
}

void measure(const char* name, const std::string& data) {
  const double mb = static_cast<double>(data.size()) / 1e6;
  // Baseline: count newlines with memchr.
  auto t0 = Clock::now();
  size_t lines = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const char* p = data.data();
    const char* end = p + data.size();
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p))))) {
      ++lines;
      ++p;
    }
  }
  const double memchr_s = seconds_since(t0) / 5;
  // CsvReader: full RFC 4180 parse into fields.
  t0 = Clock::now();
  size_t rows = 0, fields = 0;
  for (int rep = 0; rep < 5; ++rep) {
    pixelrec::CsvReader reader(data, name);
    pixelrec::CsvRow row;
    while (reader.next(row)) {
      ++rows;
      fields += row.fields.size();
    }
  }
  const double parse_s = seconds_since(t0) / 5;
  std::printf(
      "%-13s %7.1f MB  %9zu rows  CsvReader %7.0f MB/s  memchr baseline %7.0f MB/s  "
      "ratio %.2f\n",
      name, mb, rows / 5, mb / parse_s, mb / memchr_s, memchr_s / parse_s);
  if (lines == 0 || fields == 0) std::printf("(nothing parsed?)\n");
}

}  // namespace

int main() {
  measure("interactions", make_interactions(2000000));
  measure("item_info", make_items(300000));
  return 0;
}
