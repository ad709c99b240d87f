// The wire format of the coordinator protocol: version and type checks, field readers that name
// the field, NaN as null, and the token comparison.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "hpo/protocol.h"

namespace pixelrec::hpo::protocol {
namespace {

std::string code_of(const std::string& line) {
  try {
    parse_line(line);
  } catch (const ProtocolError& e) {
    return e.code();
  }
  return "";
}

TEST(HpoProtocol, ParseLineChecksJsonVersionAndType) {
  EXPECT_EQ(code_of(R"({"v":1,"type":"lease"})"), "");
  EXPECT_EQ(code_of("{not json"), code::kBadJson);
  EXPECT_EQ(code_of("[1,2]"), code::kBadJson);
  EXPECT_EQ(code_of(R"({"v":2,"type":"lease"})"), code::kVersion);
  EXPECT_EQ(code_of(R"({"type":"lease"})"), code::kVersion);
  EXPECT_EQ(code_of(R"({"v":"1","type":"lease"})"), code::kVersion);
  EXPECT_EQ(code_of(R"({"v":1})"), code::kBadField);
  EXPECT_EQ(code_of(R"({"v":1,"type":7})"), code::kBadField);
}

// Hostile lines are refused while parsing, before any recursion over them: nesting deeper than
// kMaxDepth or more than kMaxElements values (a 500,000-deep array fits the 1 MiB line limit and
// crashed the coordinator through dump()'s recursion).
TEST(HpoProtocol, DeepOrHugeMessagesAreRefusedWhileParsing) {
  const size_t deep = 500'000;
  const std::string very_deep = R"({"v": )" + std::string(deep, '[') + std::string(deep, ']') + "}";
  EXPECT_EQ(code_of(very_deep), code::kTooComplex);
  const std::string just_too_deep =
      R"({"v":1,"type":"x","a":)" + std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']') + "}";
  EXPECT_EQ(code_of(just_too_deep), code::kTooComplex);
  const std::string deep_enough = R"({"v":1,"type":"x","a":)" + std::string(kMaxDepth - 2, '[') +
                                  std::string(kMaxDepth - 2, ']') + "}";
  EXPECT_EQ(code_of(deep_enough), "");
  std::string wide = R"({"v":1,"type":"x","a":[)";
  for (size_t k = 0; k <= kMaxElements; ++k) wide += "0,";
  wide += "0]}";
  EXPECT_EQ(code_of(wide), code::kTooComplex);
}

// What a client sent is quoted only as a short prefix with control characters escaped, so an
// error reply or log line can never carry a forged line of its own.
TEST(HpoProtocol, ErrorsQuoteAShortEscapedPrefixOfClientText) {
  try {
    parse_line("{bad\n[12:00:00 info] forged line\r\x1b[31m" + std::string(500, 'y'));
    FAIL() << "accepted";
  } catch (const ProtocolError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_EQ(what.find('\r'), std::string::npos) << what;
    EXPECT_EQ(what.find('\x1b'), std::string::npos) << what;
    EXPECT_NE(what.find("\\n"), std::string::npos) << what;
    EXPECT_LT(what.size(), 200u) << what;
  }
  try {
    parse_line(R"({"v":")" + std::string(5000, 'z') + R"(","type":"x"})");
    FAIL() << "accepted";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.code(), code::kVersion);
    EXPECT_LT(std::string(e.what()).size(), 250u) << e.what();
  }
  EXPECT_EQ(quote_client_text("a\tb\x7f", 10), "'a\\tb\\x7f'");
  EXPECT_EQ(quote_client_text(std::string(50, 'q'), 8), "'qqqqqqqq...' (50 bytes)");
}

TEST(HpoProtocol, FieldReadersNameTheFieldAndTheExpectedType) {
  const nlohmann::json m =
      parse_line(R"({"v":1,"type":"report","trial":"3","step":2,"value":null})");
  try {
    get_int(m, "trial");
    FAIL() << "no throw";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.code(), code::kBadField);
    EXPECT_EQ(std::string(e.what()), "field 'trial' of 'report' must be an integer, not string");
  }
  try {
    get_int(m, "attempt");
    FAIL() << "no throw";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(std::string(e.what()), "field 'attempt' is missing; 'report' needs it (an integer)");
  }
  EXPECT_EQ(get_int(m, "step"), 2);
  EXPECT_TRUE(std::isnan(get_number_or_nan(m, "value")));
  EXPECT_THROW(get_object(m, "step"), ProtocolError);
}

TEST(HpoProtocol, EncodeWritesOneLineWithVersionAndNanAsNull) {
  nlohmann::json m = make("report");
  m["value"] = std::nan("");
  EXPECT_EQ(encode(m), "{\"type\":\"report\",\"v\":1,\"value\":null}\n");
  EXPECT_EQ(encode(make_error("too_long", "x")),
            "{\"code\":\"too_long\",\"message\":\"x\",\"type\":\"error\",\"v\":1}\n");
}

TEST(HpoProtocol, ConstantTimeEqualComparesWholeTexts) {
  EXPECT_TRUE(constant_time_equal("abc123", "abc123"));
  EXPECT_FALSE(constant_time_equal("abc123", "abc124"));
  EXPECT_FALSE(constant_time_equal("abc123", "abc12"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace pixelrec::hpo::protocol
