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
