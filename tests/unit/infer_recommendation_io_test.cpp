// Files around recommendations: titles, user files (plain or CSV) and their errors, user
// sampling, and CSV/JSON lists that parse back to the values written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/errors.h"
#include "data/csv.h"
#include "infer/recommendation_io.h"
#include "support/test_support.h"

namespace pixelrec::infer {
namespace {

using test::read_text;
using test::ScratchDir;
using test::write_text;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(RecommendationIo, TitlesFollowTheItemMapAndMissingOnesAreEmpty) {
  ScratchDir dir("titles");
  write_text(dir / "items.csv",
             "item_id,title,tag\n"
             "12,\"Cats, dogs\",pets\n"
             "10,Sunset,sky\n"
             "99,Not in the catalogue,x\n");
  const IdMap items = IdMap::from_ids({"10", "11", "12"});
  EXPECT_EQ(load_item_titles(dir / "items.csv", items),
            (std::vector<std::string>{"Sunset", "", "Cats, dogs"}));
  write_text(dir / "untitled.csv", "item_id,tag\n10,sky\n");
  EXPECT_EQ(load_item_titles(dir / "untitled.csv", items), (std::vector<std::string>{"", "", ""}));
  const std::string missing = error_of([&] { load_item_titles(dir / "none.csv", items); });
  EXPECT_NE(missing.find("none.csv"), std::string::npos) << missing;
  EXPECT_NE(missing.find("pixelrec preprocess"), std::string::npos) << missing;
}

TEST(RecommendationIo, TitlesShowTheDisplayTitleAsTheUserWroteIt) {
  // `title` is cleaned for feature extraction (lowercased); people read `display_title`.
  ScratchDir dir("display_titles");
  write_text(dir / "items.csv",
             "item_id,title,tag,display_title\n"
             "1,\"mission: impossible (1996)\",film,\"Mission: Impossible (1996)\"\n"
             "2,\"saint, the (1997)\",film,\"Saint, The (1997)\"\n");
  const IdMap items = IdMap::from_ids({"1", "2"});
  EXPECT_EQ(load_item_titles(dir / "items.csv", items),
            (std::vector<std::string>{"Mission: Impossible (1996)", "Saint, The (1997)"}));
}

TEST(RecommendationIo, UserFileTakesOneIdPerLine) {
  ScratchDir dir("user_file_plain");
  write_text(dir / "users.txt",
             "\xEF\xBB\xBF"
             "u1\r\n\n  u2  \r\nu3\n\n");
  EXPECT_EQ(read_user_file(dir / "users.txt"), (std::vector<std::string>{"u1", "u2", "u3"}));
}

TEST(RecommendationIo, UserFileTakesACsvWithAUserIdColumn) {
  ScratchDir dir("user_file_csv");
  write_text(dir / "users.csv", "\nname,user_id\nAnn,7\n\n\"Bo, Jr\", 12 \n");
  EXPECT_EQ(read_user_file(dir / "users.csv"), (std::vector<std::string>{"7", "12"}));
}

TEST(RecommendationIo, UserFileErrorsNameTheFileAndLine) {
  ScratchDir dir("user_file_errors");
  write_text(dir / "commas.txt", "u1\n\nu2,u3\n");
  const std::string comma = error_of([&] { read_user_file(dir / "commas.txt"); });
  EXPECT_NE(comma.find("commas.txt' line 3"), std::string::npos) << comma;
  EXPECT_NE(comma.find("user_id"), std::string::npos) << comma;

  write_text(dir / "empty_id.csv", "user_id,name\n5,a\n,b\n");
  const std::string empty_id = error_of([&] { read_user_file(dir / "empty_id.csv"); });
  EXPECT_NE(empty_id.find("empty_id.csv' line 3: empty user_id"), std::string::npos) << empty_id;

  write_text(dir / "blank.txt", "\n  \n");
  EXPECT_NE(error_of([&] { read_user_file(dir / "blank.txt"); }).find("holds no user ids"),
            std::string::npos);
  const std::string missing = error_of([&] { read_user_file(dir / "absent.txt"); });
  EXPECT_NE(missing.find("absent.txt' does not exist"), std::string::npos) << missing;
}

SplitData split_with_users(int n) {
  SplitData split;
  std::vector<std::string> ids;
  for (int u = 0; u < n; ++u) ids.push_back(std::to_string(u));
  split.user_map = IdMap::from_ids(ids);
  split.cold_user_ids = {"cold"};
  return split;
}

TEST(RecommendationIo, SampleUsersIsDeterministicDistinctAndOrdered) {
  const SplitData split = split_with_users(50);
  const auto a = sample_users(split, 10, 42);
  EXPECT_EQ(a, sample_users(split, 10, 42));
  ASSERT_EQ(a.size(), 10u);
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), 10u);
  for (size_t r = 1; r < a.size(); ++r) EXPECT_LT(std::stoi(a[r - 1]), std::stoi(a[r]));
  EXPECT_NE(a, sample_users(split, 10, 43));
  const auto all = sample_users(split, 500, 1);  // more than there are: every training user
  EXPECT_EQ(all, split.user_map.ids());
  EXPECT_THROW(sample_users(split, 0, 1), UsageError);
}

std::vector<UserRecommendations> sample_lists() {
  UserRecommendations a{"u1", "model", {}};
  a.items.push_back({1, 4, "i4", "Cats, \"dogs\"", 0.75});
  a.items.push_back({2, 9, "i9", "", 0.3f});
  UserRecommendations b{"ghost", "popularity_fallback", {}};
  b.items.push_back({1, 0, "i0", "Sunset", 12});
  return {a, b};
}

TEST(RecommendationIo, CsvParsesBackWithTheRightValues) {
  ScratchDir dir("recs_csv");
  write_recommendations(dir / "out" / "recs.CSV", sample_lists());
  const CsvTable table = read_csv_table(dir / "out" / "recs.CSV");
  EXPECT_EQ(table.header,
            (std::vector<std::string>{"user_id", "rank", "item_id", "title", "score", "source"}));
  ASSERT_EQ(table.rows(), 3u);
  EXPECT_EQ(table.columns[0], (std::vector<std::string>{"u1", "u1", "ghost"}));
  EXPECT_EQ(table.columns[1], (std::vector<std::string>{"1", "2", "1"}));
  EXPECT_EQ(table.columns[2], (std::vector<std::string>{"i4", "i9", "i0"}));
  EXPECT_EQ(table.columns[3][0], "Cats, \"dogs\"");
  EXPECT_EQ(table.columns[4], (std::vector<std::string>{"0.75", "0.3", "12"}));
  EXPECT_EQ(table.columns[5][2], "popularity_fallback");
}

TEST(RecommendationIo, JsonParsesBackWithTheRightValues) {
  ScratchDir dir("recs_json");
  write_recommendations(dir / "recs.json", sample_lists());
  const auto doc = nlohmann::json::parse(read_text(dir / "recs.json"));
  ASSERT_EQ(doc["users"].size(), 2u);
  const auto& first = doc["users"][0];
  EXPECT_EQ(first["user_id"], "u1");
  EXPECT_EQ(first["source"], "model");
  ASSERT_EQ(first["items"].size(), 2u);
  EXPECT_EQ(first["items"][0]["rank"], 1);
  EXPECT_EQ(first["items"][0]["item_id"], "i4");
  EXPECT_EQ(first["items"][0]["title"], "Cats, \"dogs\"");
  EXPECT_EQ(first["items"][1]["score"].get<double>(), 0.3);
  EXPECT_EQ(doc["users"][1]["source"], "popularity_fallback");
  EXPECT_EQ(doc["users"][1]["items"][0]["score"].get<double>(), 12.0);
}

}  // namespace
}  // namespace pixelrec::infer
