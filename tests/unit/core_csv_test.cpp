// RFC 4180 CSV edge cases: quoting, embedded newlines (with the right line numbers), BOM, CRLF,
// ragged and malformed rows (reported, then the reader resynchronises), writer round trip.
#include <gtest/gtest.h>

#include <sstream>

#include "core/errors.h"
#include "data/csv.h"

namespace pixelrec {
namespace {

std::vector<CsvRow> read_all(const std::string& text) {
  CsvReader reader(text, "t.csv");
  std::vector<CsvRow> rows;
  CsvRow row;
  while (reader.next(row)) rows.push_back(row);
  return rows;
}

TEST(Csv, QuotedCommasAndDoubledQuotes) {
  auto rows = read_all("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",3\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"x, y", "say \"hi\"", "3"}));
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_TRUE(rows[0].error.empty());
}

TEST(Csv, EmbeddedNewlinesKeepPhysicalLineNumbers) {
  auto rows = read_all("id,text\n1,\"two\nlines\"\n2,plain\n3,\"a\r\nb\nc\"\n4,end");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].fields[1], "two\nlines");
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[1].line, 4u);
  EXPECT_EQ(rows[2].fields[1], "a\r\nb\nc");
  EXPECT_EQ(rows[2].line, 5u);
  EXPECT_EQ(rows[3].line, 8u);
  EXPECT_EQ(rows[3].fields, (std::vector<std::string>{"4", "end"}));
}

TEST(Csv, ByteOrderMarkIsSkippedAndHeaderTrimmed) {
  CsvReader reader("\xEF\xBB\xBFitem_id, user_id ,timestamp\r\n1,2,3\r\n", "t.csv");
  EXPECT_EQ(reader.header(), (std::vector<std::string>{"item_id", "user_id", "timestamp"}));
  EXPECT_EQ(reader.require_column("timestamp"), 2u);
}

TEST(Csv, CrlfLoneCrAndBlankLines) {
  auto rows = read_all("a,b\r\n1,2\r\n\r\n\n3,4\r5,6\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(rows[1].line, 5u);
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"5", "6"}));
}

TEST(Csv, RaggedRowsReportTheirFieldCount) {
  auto rows = read_all("a,b,c\n1,2\n1,2,3,4\n,,\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields.size(), 2u);
  EXPECT_EQ(rows[1].fields.size(), 4u);
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"", "", ""}));
  for (const auto& r : rows) EXPECT_TRUE(r.error.empty());
}

TEST(Csv, TextAfterClosingQuoteIsMalformedAndReadingContinues) {
  auto rows = read_all("a,b\n\"abc\"x,1\n2,3\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].error, "unexpected character after closing quote");
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(rows[1].line, 3u);
}

TEST(Csv, UnterminatedQuoteRejectsOnlyItsLine) {
  auto rows = read_all("a,b\n1,\"open\n2,3\n4,5\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].error, "unterminated quoted field");
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_EQ(rows[2].line, 4u);
}

TEST(Csv, MissingColumnErrorListsTheColumnsPresent) {
  CsvReader reader("item_id,user\n", "interactions.csv");
  try {
    reader.require_column("timestamp");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "'interactions.csv' has no column 'timestamp' (columns present: item_id, user); "
                 "add the column or point the config at the right file");
  }
}

TEST(Csv, EmptyInputNeedsAHeader) {
  EXPECT_THROW(CsvReader("", "e.csv"), Error);
}

TEST(Csv, WriterRoundTripsEveryTrickyField) {
  const std::vector<std::string> tricky = {"plain", "a,b", "q\"uote", "multi\nline", " padded ",
                                           "", "crlf\r\n"};
  std::ostringstream out;
  CsvWriter writer(out);
  writer.write_row({"c0", "c1", "c2", "c3", "c4", "c5", "c6"});
  writer.write_row(tricky);
  auto rows = read_all(out.str());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields, tricky);
  EXPECT_EQ(out.str().substr(0, 21), "c0,c1,c2,c3,c4,c5,c6\n");
}

}  // namespace
}  // namespace pixelrec
