// The small building blocks of preprocess: timestamps, counter repair, the k-core activity
// filter and rare-tag grouping (SPEC §3 steps 1, 4, 5, 6).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/activity_filter.h"
#include "data/preprocess.h"

namespace pixelrec {
namespace {

TEST(ParseTimestamp, AcceptsUnixSecondsAndIsoDatesAsUtc) {
  const std::pair<const char*, int64_t> good[] = {
      {"1609459200", 1609459200},
      {" 1609459200 ", 1609459200},
      {"1609459200.9", 1609459200},
      {"1609459200.", 1609459200},
      {"0", 0},
      {"2021-01-01", 1609459200},
      {"2021-01-01 00:00:01", 1609459201},
      {"2021-01-01T12:30:00", 1609504200},
      {"2021-01-01T12:30:00Z", 1609504200},
      {"2020-02-29", 1582934400},
      {"1969-12-31 23:59:59", -1},
  };
  for (const auto& [text, expected] : good) {
    const auto parsed = parse_timestamp(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(*parsed, expected) << text;
  }
}

TEST(ParseTimestamp, RejectsEverythingElse) {
  for (const char* text :
       {"", "  ", "yesterday", "12/31/2020 25:61", "2021-13-01", "2021-02-29", "2021-04-31",
        "2021-01-01 24:00:00", "2021-01-01 12:60:00", "2021-01-01 12:00", "2021-1-1", "-5", "1e9",
        "0x10", "1609459200.5.1", "12abc", "2021-01-01X12:00:00", "1234567890123456789"}) {
    EXPECT_FALSE(parse_timestamp(text)) << text;
  }
}

TEST(NumericProblem, NamesWhyACounterBecomesZero) {
  const std::pair<const char*, const char*> cases[] = {
      {"12", nullptr},
      {" 7 ", nullptr},
      {"0", nullptr},
      {"3.5", nullptr},
      {"1.5e3", nullptr},
      {"NaN", "numeric_not_finite"},
      {"nan", "numeric_not_finite"},
      {"inf", "numeric_not_finite"},
      {"-Infinity", "numeric_not_finite"},
      {"1e999", "numeric_not_finite"},
      {"-12", "numeric_negative"},
      {"-0.5", "numeric_negative"},
      {"12k", "numeric_not_a_number"},
      {"abc", "numeric_not_a_number"},
      {"0x1A", "numeric_not_a_number"},
      {"1,000", "numeric_not_a_number"},
      {"", "numeric_missing"},
      {"  ", "numeric_missing"},
  };
  for (const auto& [text, expected] : cases) {
    const char* problem = numeric_problem(text);
    EXPECT_STREQ(problem, expected) << "value: '" << text << "'";
  }
}

// Users 0..3, items 0..3. Round 1 drops item 2 and user 3 (and so item 3); that leaves user 2
// with one interaction, which round 2 drops. Users 0 and 1 with items 0 and 1 form the 2-core.
const std::vector<uint32_t> kUsers = {0, 0, 1, 1, 2, 2, 3};
const std::vector<uint32_t> kItems = {0, 1, 0, 1, 1, 2, 3};

TEST(ActivityFilter, RepeatsUntilStable) {
  const ActivityFilterResult result = filter_by_activity(kUsers, kItems, 4, 4, 2, 2);
  EXPECT_EQ(result.keep, (std::vector<bool>{true, true, true, true, false, false, false}));
  EXPECT_EQ(result.rounds, 2);
  EXPECT_EQ(result.removed_interactions, 3u);
  EXPECT_EQ(result.removed_users, 2u);
  EXPECT_EQ(result.removed_items, 2u);
}

TEST(ActivityFilter, OneSidedFilterOnlyCountsThatSide) {
  const ActivityFilterResult result = filter_by_activity(kUsers, kItems, 4, 4, 2, 0);
  EXPECT_EQ(result.keep, (std::vector<bool>{true, true, true, true, true, true, false}));
  EXPECT_EQ(result.rounds, 1);
  EXPECT_EQ(result.removed_interactions, 1u);
  EXPECT_EQ(result.removed_users, 1u);
  EXPECT_EQ(result.removed_items, 1u);
}

TEST(ActivityFilter, ZeroMinimumsKeepEverything) {
  const ActivityFilterResult result = filter_by_activity(kUsers, kItems, 4, 4, 0, 0);
  EXPECT_EQ(result.keep, std::vector<bool>(7, true));
  EXPECT_EQ(result.rounds, 0);
  EXPECT_EQ(result.removed_interactions, 0u);
}

TEST(ActivityFilter, CanRemoveEverything) {
  const ActivityFilterResult result = filter_by_activity(kUsers, kItems, 4, 4, 5, 0);
  EXPECT_EQ(result.keep, std::vector<bool>(7, false));
  EXPECT_EQ(result.rounds, 1);
  EXPECT_EQ(result.removed_users, 4u);
  EXPECT_EQ(result.removed_items, 4u);
}

TEST(TagGrouping, GroupsTagsOnFewerItemsThanTheThreshold) {
  std::vector<std::string> tags = {"a", "a", "b", "c", "c", "c", ""};
  const TagGroupingResult result = group_rare_tags(tags, 2);
  EXPECT_EQ(tags, (std::vector<std::string>{"a", "a", "other", "c", "c", "c", ""}));
  EXPECT_EQ(result.tags_grouped, 1u);
  EXPECT_EQ(result.items_grouped, 1u);

  const TagGroupingResult all = group_rare_tags(tags, 4);
  EXPECT_EQ(tags,
            (std::vector<std::string>{"other", "other", "other", "other", "other", "other", ""}));
  EXPECT_EQ(all.tags_grouped, 2u);  // a and c; "other" is already grouped
  EXPECT_EQ(all.items_grouped, 5u);
}

TEST(TagGrouping, ZeroThresholdIsOff) {
  std::vector<std::string> tags = {"a", "b"};
  const TagGroupingResult result = group_rare_tags(tags, 0);
  EXPECT_EQ(tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(result.tags_grouped, 0u);
  EXPECT_EQ(result.items_grouped, 0u);
}

}  // namespace
}  // namespace pixelrec
