// `pixelrec split` end to end: every strategy on generated processed files, with the written
// parts, split_stats.json and id maps recounted here; sampling; and the errors a user can cause.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/rng.h"
#include "data/csv.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

constexpr int kUsers = 200;
constexpr int kCatalogueItems = 125;    // items 120-124 are never interacted with
constexpr int kUsersWithTwoEvents = 8;  // users 0, 25, 50, ...

// Processed-format files: users 0-199 with 10-30 interactions (every 25th user only 2) over items
// 0-119 with skewed popularity, interleaved like a log; timestamps on an hourly grid so many tie;
// an extra event_id column (the row number) identifies rows. Returns the number of rows.
size_t write_processed_data(const fs::path& dir) {
  Rng rng(2024);
  std::vector<int> events(kUsers);
  for (int u = 0; u < kUsers; ++u) events[u] = u % 25 == 0 ? 2 : 10 + (u * 13) % 21;
  std::string csv = "item_id,user_id,timestamp,event_id\n";
  size_t row = 0;
  for (int k = 0; k < 30; ++k) {
    for (int u = 0; u < kUsers; ++u) {
      if (k >= events[u]) continue;
      const auto item = static_cast<int>(rng.below(120) * rng.uniform());
      const int64_t ts = 1'600'000'000 + 3600 * static_cast<int64_t>((u * 17 + k * 5) % 400);
      csv += std::to_string(item) + "," + std::to_string(u) + "," + std::to_string(ts) + "," +
             std::to_string(row++) + "\n";
    }
  }
  write_text(dir / "processed/interactions.csv", csv);
  std::string items = "item_id,title,description,tag,image_file\n";
  for (int i = 0; i < kCatalogueItems; ++i)
    items += std::to_string(i) + ",\"title, " + std::to_string(i) + "\",,tag" +
             std::to_string(i % 6) + "," + std::to_string(i) + ".jpg\n";
  write_text(dir / "processed/item_info.csv", items);
  return row;
}

int64_t as_int(const std::string& s) { return static_cast<int64_t>(std::stoll(s)); }

// One written part, recounted.
struct PartCount {
  size_t rows = 0;
  std::set<int64_t> users, items;  // numeric ids: sets iterate in id order
  int64_t min_ts = INT64_MAX, max_ts = INT64_MIN;
  std::vector<int64_t> row_users, row_items, event_ids;  // in file order
};

PartCount recount(const fs::path& file) {
  const CsvTable t = read_csv_table(file);
  EXPECT_EQ(t.header, (std::vector<std::string>{"item_id", "user_id", "timestamp", "event_id"}));
  PartCount c;
  c.rows = t.rows();
  for (size_t r = 0; r < t.rows(); ++r) {
    c.row_items.push_back(as_int(t.columns[0][r]));
    c.row_users.push_back(as_int(t.columns[1][r]));
    c.items.insert(c.row_items.back());
    c.users.insert(c.row_users.back());
    c.min_ts = std::min(c.min_ts, as_int(t.columns[2][r]));
    c.max_ts = std::max(c.max_ts, as_int(t.columns[2][r]));
    c.event_ids.push_back(as_int(t.columns[3][r]));
  }
  return c;
}

size_t shared(const std::set<int64_t>& a, const std::set<int64_t>& b) {
  return static_cast<size_t>(
      std::count_if(a.begin(), a.end(), [&](int64_t x) { return b.count(x) > 0; }));
}

// Share of `ids` (one per row) that are not in `known`.
double unseen_share(const std::vector<int64_t>& ids, const std::set<int64_t>& known) {
  const auto unseen =
      std::count_if(ids.begin(), ids.end(), [&](int64_t x) { return known.count(x) == 0; });
  return ids.empty() ? 0.0 : double(unseen) / double(ids.size());
}

class SplitCli : public ::testing::Test {
 protected:
  SplitCli() : dir_("split_cli") {
    rows_ = write_processed_data(dir_.path());
    const auto line = [&](const std::string& key, const std::string& path) {
      return "  " + key + ": " + (dir_ / path).string() + "\n";
    };
    write_text(dir_ / "config.yaml",
               "data:\n" + line("processed_interactions_path", "processed/interactions.csv") +
                   line("processed_item_info_path", "processed/item_info.csv") +
                   line("split_data_path", "splits"));
  }
  CommandResult split(const std::string& args) {
    return run_pixelrec("split -c " + shell_quote((dir_ / "config.yaml").string()) + " " + args);
  }
  fs::path out(const std::string& name) const { return dir_ / "splits" / name; }

  ScratchDir dir_;
  size_t rows_ = 0;
};

constexpr const char* kPartNames[3] = {"train", "val", "test"};

// The parts are disjoint, their union is the input, and each keeps input order.
void expect_parts_partition_input(const PartCount (&parts)[3], size_t rows) {
  std::vector<int64_t> all;
  for (const auto& p : parts) {
    EXPECT_TRUE(std::is_sorted(p.event_ids.begin(), p.event_ids.end()));
    all.insert(all.end(), p.event_ids.begin(), p.event_ids.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(rows);
  for (size_t i = 0; i < rows; ++i) expected[i] = static_cast<int64_t>(i);
  EXPECT_EQ(all, expected);
}

void expect_stats_match_recount(const nlohmann::json& stats, const PartCount (&parts)[3],
                                size_t rows) {
  EXPECT_EQ(stats["input_interactions"], rows);
  for (int p = 0; p < 3; ++p) {
    const auto& s = stats["parts"][kPartNames[p]];
    EXPECT_EQ(s["interactions"], parts[p].rows) << kPartNames[p];
    EXPECT_EQ(s["users"], parts[p].users.size()) << kPartNames[p];
    EXPECT_EQ(s["items"], parts[p].items.size()) << kPartNames[p];
    EXPECT_EQ(s["min_timestamp"], parts[p].min_ts) << kPartNames[p];
    EXPECT_EQ(s["max_timestamp"], parts[p].max_ts) << kPartNames[p];
    EXPECT_DOUBLE_EQ(s["fraction"].get<double>(), double(parts[p].rows) / double(rows));
  }
  const std::pair<const char*, std::pair<int, int>> pairs[] = {
      {"train_val", {0, 1}}, {"train_test", {0, 2}}, {"val_test", {1, 2}}};
  for (const auto& [key, ab] : pairs) {
    const PartCount &a = parts[ab.first], &b = parts[ab.second];
    EXPECT_EQ(stats["overlaps"][key]["users"], shared(a.users, b.users)) << key;
    EXPECT_EQ(stats["overlaps"][key]["items"], shared(a.items, b.items)) << key;
  }
  const PartCount& train = parts[0];
  for (int p = 1; p < 3; ++p) {
    const auto& cold = stats["cold"][kPartNames[p]];
    EXPECT_DOUBLE_EQ(cold["user_fraction"].get<double>(),
                     unseen_share(parts[p].row_users, train.users));
    EXPECT_DOUBLE_EQ(cold["item_fraction"].get<double>(),
                     unseen_share(parts[p].row_items, train.items));
    EXPECT_EQ(cold["cold_users"], parts[p].users.size() - shared(parts[p].users, train.users));
    EXPECT_EQ(cold["cold_items"], parts[p].items.size() - shared(parts[p].items, train.items));
  }
}

// user_map: the training users in numeric order; item_map: the catalogue (which holds every
// interacted item here) with in_train flags.
void expect_id_maps_match_train(const fs::path& dir, const PartCount& train) {
  std::string user_map = "index,user_id\n";
  size_t index = 0;
  for (int64_t u : train.users)
    user_map += std::to_string(index++) + "," + std::to_string(u) + "\n";
  EXPECT_EQ(read_text(dir / "user_map.csv"), user_map);
  std::string item_map = "index,item_id,in_train\n";
  for (int i = 0; i < kCatalogueItems; ++i)
    item_map += std::to_string(i) + "," + std::to_string(i) + "," +
                (train.items.count(i) ? "1" : "0") + "\n";
  EXPECT_EQ(read_text(dir / "item_map.csv"), item_map);
}

// What each strategy promises beyond a partition.
void expect_strategy_promise(const std::string& strategy, const nlohmann::json& stats,
                             const PartCount (&parts)[3]) {
  const auto& overlaps = stats["overlaps"];
  if (strategy == "leave_one_out") {
    EXPECT_EQ(stats["users_with_too_few_interactions"], kUsersWithTwoEvents);
    EXPECT_EQ(parts[1].rows, size_t(kUsers - kUsersWithTwoEvents));  // one per eligible user
    EXPECT_EQ(parts[2].rows, size_t(kUsers - kUsersWithTwoEvents));
  } else {
    EXPECT_TRUE(stats["users_with_too_few_interactions"].is_null());
  }
  if (strategy == "temporal") {
    EXPECT_LT(parts[0].max_ts, parts[1].min_ts);
    EXPECT_LT(parts[1].max_ts, parts[2].min_ts);
  }
  if (strategy == "user") {
    for (const char* pair : {"train_val", "train_test", "val_test"})
      EXPECT_EQ(overlaps[pair]["users"], 0) << pair;
  }
  if (strategy == "item") {
    EXPECT_EQ(overlaps["train_val"]["items"], 0);
    EXPECT_EQ(overlaps["train_test"]["items"], 0);
  }
  if (strategy == "stratified_by_column" || strategy == "stratified_temporal") {
    EXPECT_EQ(stats["stratify_by"], "tag");
  }
}

class EveryStrategyCli : public SplitCli, public ::testing::WithParamInterface<std::string> {};

TEST_P(EveryStrategyCli, PartsStatsAndIdMapsAgreeWithARecount) {
  const CommandResult r = split("--set data.splitting.strategy=" + GetParam());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const PartCount parts[3] = {recount(out("train.csv")), recount(out("val.csv")),
                              recount(out("test.csv"))};
  const auto stats = nlohmann::json::parse(read_text(out("split_stats.json")));
  EXPECT_EQ(stats["strategy"], GetParam());
  expect_parts_partition_input(parts, rows_);
  expect_stats_match_recount(stats, parts, rows_);
  expect_id_maps_match_train(dir_ / "splits", parts[0]);
  expect_strategy_promise(GetParam(), stats, parts);
  EXPECT_NE(read_text(out("split_config.yaml")).find("strategy: " + GetParam()), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(SplitStrategies, EveryStrategyCli,
                         ::testing::Values("leave_one_out", "temporal", "user_temporal", "random",
                                           "stratified", "stratified_by_column",
                                           "stratified_temporal", "user", "item"));

TEST_F(SplitCli, SampleNWithTheUnderscoreSpellingKeepsExactlyThatMany) {
  const CommandResult r = split("--sample_n 500 --set data.splitting.strategy=random");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(recount(out("train.csv")).rows, 400u);
  EXPECT_EQ(recount(out("val.csv")).rows + recount(out("test.csv")).rows, 100u);
  EXPECT_EQ(nlohmann::json::parse(read_text(out("split_stats.json")))["sample_n"], 500);
}

TEST_F(SplitCli, ImpossibleRatiosFailNamingTheKeysAndWriteNothing) {
  const CommandResult r = split(
      "--set data.splitting.strategy=random --set data.splitting.train_final_ratio=0.9 "
      "--set data.splitting.val_final_ratio=0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("pixelrec: error: impossible ratios for split strategy 'random': "
                          "data.splitting.val_final_ratio = 0 would leave the val part empty; give "
                          "data.splitting.train_final_ratio, val_final_ratio and "
                          "test_final_ratio values > 0 that sum to 1\n"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out("train.csv")));
}

TEST_F(SplitCli, AnUnknownStrategyFailsListingTheAllowedOnes) {
  const CommandResult r = split("--set data.splitting.strategy=by_user");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("data.splitting.strategy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("'by_user'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("leave_one_out, temporal, user_temporal, random, stratified, "
                          "stratified_by_column, stratified_temporal, user, item"),
            std::string::npos)
      << r.output;
}

TEST_F(SplitCli, AMissingInputFileFailsNamingThePath) {
  const std::string missing = (dir_ / "nowhere/interactions.csv").string();
  const CommandResult r = split("--set data.processed_interactions_path=" + shell_quote(missing));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("pixelrec: error: cannot read CSV file '" + missing +
                          "': no such file (check the path in your config)\n"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace pixelrec::test
