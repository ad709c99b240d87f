// run_split end to end on small processed files: the files it writes, sampling, strata joined
// from the catalogue, and the errors a user can cause.
#include <gtest/gtest.h>

#include <map>

#include "core/errors.h"
#include "data/csv.h"
#include "data/split.h"
#include "support/test_support.h"

namespace pixelrec {
namespace {

using test::read_text;
using test::ScratchDir;
using test::write_text;

class SplitRun : public ::testing::Test {
 protected:
  SplitRun() : dir_("split_run") {
    config_.data.processed_interactions_path = (dir_ / "processed/interactions.csv").string();
    config_.data.processed_item_info_path = (dir_ / "processed/item_info.csv").string();
    config_.data.split_data_path = (dir_ / "splits").string();
  }

  void write_interactions(const std::string& csv) {
    write_text(config_.data.processed_interactions_path, csv);
  }
  void write_items(const std::string& csv) {
    write_text(config_.data.processed_item_info_path, csv);
  }
  std::string split_file(const std::string& name) const {
    return read_text(dir_ / "splits" / name);
  }
  size_t split_rows(const std::string& name) const {
    return read_csv_table(dir_ / "splits" / name).rows();
  }
  std::string error_of_run(const SplitRequest& request = {}) {
    try {
      run_split(config_, request);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }

  // `users` users with 25 interactions each over 40 items i0..i39, distinct timestamps.
  void write_generated(int users) {
    std::string csv = "item_id,user_id,timestamp\n";
    for (int u = 0; u < users; ++u)
      for (int k = 0; k < 25; ++k)
        csv += "i" + std::to_string((u * 7 + k * 3) % 40) + "," + std::to_string(u) + "," +
               std::to_string(1000 + u * 25 + k) + "\n";
    write_interactions(csv);
    std::string items = "item_id,title,tag\n";
    for (int i = 0; i < 40; ++i)
      items += "i" + std::to_string(i) + ",t,tag" + std::to_string(i % 4) + "\n";
    write_items(items);
  }

  ScratchDir dir_;
  Config config_;
};

TEST_F(SplitRun, LeaveOneOutWritesEachPartWithTheInputColumnsInInputOrder) {
  write_interactions(
      "item_id,user_id,timestamp,note\n"
      "i1,10,100,\"a, b\"\n"
      "i2,10,300,x\n"
      "i3,9,100,y\n"
      "i1,10,200,z\n"
      "i2,9,200,w\n"
      "i3,10,400,v\n"
      "i1,9,300,u\n");
  write_items("item_id,title,tag\ni1,one,a\ni2,two,a\ni3,three,b\ni4,four,b\n");
  config_.data.splitting.strategy = "leave_one_out";
  run_split(config_, {});
  EXPECT_EQ(split_file("train.csv"),
            "item_id,user_id,timestamp,note\ni1,10,100,\"a, b\"\ni3,9,100,y\ni1,10,200,z\n");
  EXPECT_EQ(split_file("val.csv"), "item_id,user_id,timestamp,note\ni2,10,300,x\ni2,9,200,w\n");
  EXPECT_EQ(split_file("test.csv"), "item_id,user_id,timestamp,note\ni3,10,400,v\ni1,9,300,u\n");
}

TEST_F(SplitRun, IdMapsHoldTrainUsersAndTheWholeCatalogue) {
  write_interactions(
      "item_id,user_id,timestamp\n"
      "i1,10,100\ni2,10,300\ni3,9,100\ni1,10,200\ni2,9,200\ni3,10,400\ni1,9,300\ni5,8,50\n");
  write_items("item_id,title,tag\ni1,one,a\ni2,two,a\ni3,three,b\ni4,four,b\n");
  config_.data.splitting.strategy = "leave_one_out";
  run_split(config_, {});
  // Users 8 (one interaction, kept in train), 9 and 10, in numeric order.
  EXPECT_EQ(split_file("user_map.csv"), "index,user_id\n0,8\n1,9\n2,10\n");
  // i4 is only in the catalogue, i5 only in the interactions.
  EXPECT_EQ(split_file("item_map.csv"),
            "index,item_id,in_train\n0,i1,1\n1,i2,0\n2,i3,1\n3,i4,0\n4,i5,1\n");
}

TEST_F(SplitRun, StatsFileMatchesTheWrittenParts) {
  write_generated(40);
  config_.data.splitting.strategy = "random";
  const SplitStats stats = run_split(config_, {});
  const auto j = nlohmann::json::parse(split_file("split_stats.json"));
  EXPECT_EQ(j["strategy"], "random");
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["input_interactions"], 1000);
  EXPECT_EQ(j["parts"]["train"]["interactions"], split_rows("train.csv"));
  EXPECT_EQ(j["parts"]["val"]["interactions"], split_rows("val.csv"));
  EXPECT_EQ(j["parts"]["test"]["interactions"], split_rows("test.csv"));
  EXPECT_EQ(split_rows("train.csv"), 800u);  // random cuts at round(0.8 n) and round(0.9 n)
  EXPECT_EQ(split_rows("val.csv"), 100u);
  EXPECT_TRUE(j["users_with_too_few_interactions"].is_null());
  EXPECT_EQ(stats.parts[0].interactions, 800u);
}

TEST_F(SplitRun, SampleNKeepsExactlyNInteractionsAndIsRecorded) {
  write_generated(40);
  config_.data.splitting.strategy = "stratified";
  const SplitStats stats = run_split(config_, SplitRequest{137});
  EXPECT_EQ(split_rows("train.csv") + split_rows("val.csv") + split_rows("test.csv"), 137u);
  EXPECT_EQ(stats.input_interactions, 137u);
  EXPECT_EQ(nlohmann::json::parse(split_file("split_stats.json"))["sample_n"], 137);
  EXPECT_NE(split_file("split_config.yaml").find("sample_size: 137"), std::string::npos);
}

TEST_F(SplitRun, SampleSizeFromTheConfigAppliesWhenNoFlagIsGiven) {
  write_generated(40);
  config_.data.splitting.strategy = "random";
  config_.data.sample_size = 300;
  run_split(config_, {});
  EXPECT_EQ(split_rows("train.csv") + split_rows("val.csv") + split_rows("test.csv"), 300u);
}

TEST_F(SplitRun, SamplingMoreThanTheDataIsAnError) {
  write_generated(2);
  EXPECT_EQ(error_of_run(SplitRequest{51}),
            "cannot sample 51 interactions: '" + config_.data.processed_interactions_path +
                "' has 50 (use --sample-n / data.sample_size between 1 and that, or leave it "
                "unset)");
}

TEST_F(SplitRun, StratifyByAnItemColumnCutsEachCatalogueTagByTheRatios) {
  // tag0 items i0, i4, ...; 40 users × 25 rows spread evenly: each tag holds 250 interactions.
  write_generated(40);
  config_.data.splitting.strategy = "stratified_by_column";
  config_.data.splitting.stratify_by = "tag";
  run_split(config_, {});
  const CsvTable train = read_csv_table(dir_ / "splits" / "train.csv");
  std::map<int, size_t> per_tag;
  for (const auto& item : train.columns[0]) ++per_tag[std::stoi(item.substr(1)) % 4];
  EXPECT_EQ(per_tag, (std::map<int, size_t>{{0, 200}, {1, 200}, {2, 200}, {3, 200}}));
  EXPECT_EQ(nlohmann::json::parse(split_file("split_stats.json"))["stratify_by"], "tag");
}

TEST_F(SplitRun, UnknownStratifyByColumnListsTheAvailableOnes) {
  write_generated(2);
  config_.data.splitting.strategy = "stratified_temporal";
  config_.data.splitting.stratify_by = "genre";
  EXPECT_EQ(error_of_run(), "data.splitting.stratify_by: column 'genre' is in neither '" +
                                config_.data.processed_interactions_path +
                                "' (columns: item_id, user_id, timestamp) nor '" +
                                config_.data.processed_item_info_path +
                                "' (columns: item_id, title, tag); set it to one of these");
}

// The reference's stratify_by: null (loaded as ""): stratified_temporal then has one stratum,
// as the reference's split without a stratification column does.
TEST_F(SplitRun, StratifiedTemporalWithoutAColumnIsOneStratum) {
  write_generated(10);
  std::string items = "item_id,title,tag,shelf\n";
  for (int i = 0; i < 40; ++i)
    items += "i" + std::to_string(i) + ",t,tag" + std::to_string(i % 4) + ",one\n";
  write_items(items);
  config_.data.splitting.strategy = "stratified_temporal";
  config_.data.splitting.stratify_by = "shelf";  // the same value on every item: one stratum
  run_split(config_, {});
  const std::string one_stratum = split_file("train.csv");
  config_.data.splitting.stratify_by = "";
  run_split(config_, {});
  EXPECT_EQ(split_file("train.csv"), one_stratum);
  EXPECT_TRUE(nlohmann::json::parse(split_file("split_stats.json"))["stratify_by"].is_null());
}

TEST_F(SplitRun, StratifiedByColumnWithoutAColumnSaysWhatToSet) {
  write_generated(2);
  config_.data.splitting.strategy = "stratified_by_column";
  config_.data.splitting.stratify_by = "";
  EXPECT_EQ(error_of_run(),
            "data.splitting.stratify_by is not set (null), but strategy stratified_by_column "
            "stratifies by that column; set it to a column of the interactions or of the item "
            "catalogue (e.g. tag)");
}

TEST_F(SplitRun, ANonIntegerTimestampNamesFileAndLine) {
  write_interactions("item_id,user_id,timestamp\ni1,1,100\ni2,1,yesterday\n");
  write_items("item_id,title\ni1,a\ni2,b\n");
  EXPECT_EQ(error_of_run(), "'" + config_.data.processed_interactions_path +
                                "' line 3: timestamp 'yesterday' is not an integer (unix seconds "
                                "expected) (the file is written by 'pixelrec preprocess'; rerun "
                                "it)");
}

TEST_F(SplitRun, AMissingColumnIsNamed) {
  write_interactions("item_id,user_id\ni1,1\n");
  write_items("item_id,title\ni1,a\n");
  EXPECT_EQ(error_of_run(), "'" + config_.data.processed_interactions_path +
                                "' has no column 'timestamp' (columns present: item_id, "
                                "user_id); add the column or point the config at the right file");
}

TEST_F(SplitRun, AMissingInputFileIsNamed) {
  EXPECT_EQ(error_of_run(), "cannot read CSV file '" + config_.data.processed_interactions_path +
                                "': no such file (check the path in your config)");
}

}  // namespace
}  // namespace pixelrec
