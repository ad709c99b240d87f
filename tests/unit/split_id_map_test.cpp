// IdMap: the id ordering rule, lookups, and the user_map.csv / item_map.csv file format.
#include <gtest/gtest.h>

#include "core/errors.h"
#include "data/id_map.h"
#include "support/test_support.h"

namespace pixelrec {
namespace {

using test::read_text;
using test::ScratchDir;
using test::write_text;

TEST(IdMap, AllDigitIdsAreOrderedNumericallyAndDeduplicated) {
  const IdMap map = IdMap::from_ids({"10", "2", "1", "2", "007", "123456789012345678901234"});
  EXPECT_EQ(map.ids(),
            (std::vector<std::string>{"1", "2", "007", "10", "123456789012345678901234"}));
}

TEST(IdMap, AnyNonDigitIdMakesTheOrderLexicographic) {
  const IdMap map = IdMap::from_ids({"b10", "a", "10", "9"});
  EXPECT_EQ(map.ids(), (std::vector<std::string>{"10", "9", "a", "b10"}));
}

TEST(IdMap, FindReturnsTheDenseIndexOrNothing) {
  const IdMap map = IdMap::from_ids({"30", "4", "100"});
  EXPECT_EQ(map.find("4"), 0u);
  EXPECT_EQ(map.find("30"), 1u);
  EXPECT_EQ(map.find("100"), 2u);
  EXPECT_EQ(map.find("5"), std::nullopt);
  EXPECT_EQ(map.find("x"), std::nullopt);
  EXPECT_EQ(map.id(2), "100");
  EXPECT_TRUE(map.contains("30"));
}

TEST(IdMap, SaveWritesIndexIdAndExtraColumns) {
  ScratchDir dir("id_map_save");
  const IdMap map = IdMap::from_ids({"b", "a,1", "c"});
  map.save(dir / "item_map.csv", "item_id", {{"in_train", {"1", "0", "1"}}});
  EXPECT_EQ(read_text(dir / "item_map.csv"), "index,item_id,in_train\n0,\"a,1\",1\n1,b,0\n2,c,1\n");
}

TEST(IdMap, LoadRoundTripsWhatSaveWrote) {
  ScratchDir dir("id_map_round_trip");
  const IdMap map = IdMap::from_ids({"u9", "u10", "u1", "\"quoted\""});
  map.save(dir / "user_map.csv", "user_id");
  const IdMap loaded = IdMap::load(dir / "user_map.csv", "user_id");
  EXPECT_EQ(loaded.ids(), map.ids());
  EXPECT_EQ(loaded.find("u10"), map.find("u10"));
}

TEST(IdMap, LoadRejectsAGapInTheIndices) {
  ScratchDir dir("id_map_gap");
  const auto path = dir / "user_map.csv";
  write_text(path, "index,user_id\n0,1\n2,5\n");
  try {
    IdMap::load(path, "user_id");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "'" + path.string() +
                                         "' line 3: index '2' should be 1 (the id map is written "
                                         "by 'pixelrec split'; rerun it)");
  }
}

TEST(IdMap, LoadRejectsIdsOutOfOrder) {
  ScratchDir dir("id_map_order");
  const auto path = dir / "user_map.csv";
  write_text(path, "index,user_id\n0,10\n1,9\n");
  try {
    IdMap::load(path, "user_id");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "'" + path.string() +
                                         "': id '9' at index 1 is duplicated or out of order "
                                         "(the id map is written by 'pixelrec split'; rerun it)");
  }
}

TEST(IdMap, LoadNamesAMissingIdColumn) {
  ScratchDir dir("id_map_column");
  const auto path = dir / "user_map.csv";
  write_text(path, "index,user\n0,1\n");
  try {
    IdMap::load(path, "user_id");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "'" + path.string() +
                                         "' has no column 'user_id' (columns present: index, "
                                         "user); add the column or point the config at the right "
                                         "file");
  }
}

}  // namespace
}  // namespace pixelrec
