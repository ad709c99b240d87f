// run_preprocess end to end on a small hand-written dataset: exact processed files, rejects,
// repairs, report counts, image conversion, idempotence and the errors a user can cause.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "core/errors.h"
#include "data/image_check.h"
#include "data/preprocess.h"
#include "support/test_support.h"

namespace pixelrec {
namespace {

using test::read_text;
using test::ScratchDir;
using test::write_text;
namespace fs = std::filesystem;

std::string encode(int width, int height, const std::string& extension) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(40, 120, 200));
  cv::circle(image, {width / 2, height / 2}, std::min(width, height) / 3, cv::Scalar(0, 0, 0), -1);
  std::vector<uchar> bytes;
  cv::imencode(extension, image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

// Lines: header 1, i1 2-3 (embedded newline), i2 4, i3 5, duplicate i1 6, i4 7 (no image),
// empty id 8, short i5 9, malformed i6 10.
const char* const kItems =
    "tag,item_id,title,description,view_number,category\n"
    "Music,i1,<b>Hello</b> World,\"A, \"\"quoted\"\"\nmulti-line\",10,x\n"
    "Sport,i2,Ｔｉｔｌｅ,nan,-3,y\n"
    "Music,i3,t3,d3,12k,z\n"
    "Music,i1,dup,dup,1,w\n"
    "Game,i4,t4,d4,5,q\n"
    ",,t,d,1,q\n"
    "News,i5,t5,d5\n"
    "News,i6,\"bad\"x,d6,1,q\n";

const char* const kInteractions =
    "user_id,timestamp,item_id,rating\n"
    "u1,1609459200,i1,5\n"
    "u1,2021-01-02,i2,4\n"
    "u2,1609459300.7,i3,3\n"
    "u2,1609459300.7,i3,3\n"
    "u3,yesterday,i1,1\n"
    ",1609459200,i1,1\n"
    "u3,1609459200,i4,1\n"
    "u3,1609459200,i9,1\n"
    "u3,1609459200,i1,1\n"
    "u4,1609459200,i6,2\n";

class PreprocessPipeline : public ::testing::Test {
 protected:
  PreprocessPipeline() {
    write_text(raw("item_info.csv"), kItems);
    write_text(raw("interactions.csv"), kInteractions);
    write_text(raw("images/i1.jpg"), encode(80, 80, ".jpg"));
    write_text(raw("images/i2.png"), encode(80, 80, ".png"));
    write_text(raw("images/i3.jpg"), encode(80, 80, ".jpg"));
    write_text(raw("images/i6.jpg"), encode(80, 80, ".jpg"));
    config_.data.item_info_path = raw("item_info.csv").string();
    config_.data.interactions_path = raw("interactions.csv").string();
    config_.data.image_folder = raw("images").string();
    config_.data.processed_item_info_path = out("item_info.csv").string();
    config_.data.processed_interactions_path = out("interactions.csv").string();
    config_.data.processed_image_destination_folder = out("images").string();
    config_.data.numerical_features_cols = {"view_number"};
    config_.training.num_workers = 2;
  }

  fs::path raw(const std::string& name) const { return dir_.path() / "raw" / name; }
  fs::path out(const std::string& name) const { return dir_.path() / "processed" / name; }
  PreprocessSummary run(bool force = false) {
    PreprocessOptions options;
    options.force_reprocess = force;
    options.show_progress = false;
    return run_preprocess(config_, options);
  }
  nlohmann::json report() const {
    return nlohmann::json::parse(read_text(out("preprocess_report.json")));
  }

  ScratchDir dir_{"preprocess_pipeline"};
  Config config_;
};

TEST_F(PreprocessPipeline, WritesCleanedItemsInInputOrderWithImageFiles) {
  const PreprocessSummary summary = run();
  EXPECT_FALSE(summary.up_to_date);
  EXPECT_EQ(summary.items, 3u);
  EXPECT_EQ(read_text(out("item_info.csv")),
            "item_id,title,description,tag,view_number,category,display_title,image_file\n"
            "i1,hello world,\"a, \"\"quoted\"\" multi-line\",music,10,x,Hello World,i1.jpg\n"
            "i2,title,,sport,0,y,Ｔｉｔｌｅ,i2.png\n"
            "i3,t3,d3,music,0,z,t3,i3.jpg\n");
  EXPECT_EQ(read_text(out("images/i1.jpg")), read_text(raw("images/i1.jpg")));
  EXPECT_EQ(read_text(out("images/i2.png")), read_text(raw("images/i2.png")));
  EXPECT_FALSE(fs::exists(out("images/i6.jpg")));
}

TEST_F(PreprocessPipeline, WritesSurvivingInteractionsWithUnixSecondsAndExtraColumns) {
  const PreprocessSummary summary = run();
  EXPECT_EQ(summary.interactions, 4u);
  EXPECT_EQ(read_text(out("interactions.csv")),
            "item_id,user_id,timestamp,rating\n"
            "i1,u1,1609459200,5\n"
            "i2,u1,1609545600,4\n"
            "i3,u2,1609459300,3\n"
            "i1,u3,1609459200,1\n");
}

TEST_F(PreprocessPipeline, ListsEveryRejectWithFileLineIdAndReason) {
  const PreprocessSummary summary = run();
  EXPECT_EQ(summary.rejects, 11u);
  EXPECT_EQ(read_text(out("rejects.csv")),
            "file,line,id,reason\n"
            "item_info.csv,6,i1,duplicate_item_id\n"
            "item_info.csv,8,,empty_item_id\n"
            "item_info.csv,9,i5,wrong_field_count\n"
            "item_info.csv,10,i6,malformed_row\n"
            "interactions.csv,5,u2,duplicate_interaction\n"
            "interactions.csv,6,u3,bad_timestamp\n"
            "interactions.csv,7,,empty_id\n"
            "images/i4.jpg,,i4,image_missing\n"
            "interactions.csv,8,u3,item_rejected\n"
            "interactions.csv,9,u3,unknown_item\n"
            "interactions.csv,11,u4,item_rejected\n");
}

TEST_F(PreprocessPipeline, ListsEveryRepairWithTheField) {
  EXPECT_EQ(run().repairs, 3u);
  EXPECT_EQ(read_text(out("repairs.csv")),
            "file,line,id,field,reason\n"
            "item_info.csv,2,i1,title,html_removed\n"
            "item_info.csv,4,i2,view_number,numeric_negative\n"
            "item_info.csv,5,i3,view_number,numeric_not_a_number\n");
}

TEST_F(PreprocessPipeline, ReportCountsEveryStep) {
  run();
  const nlohmann::json r = report();
  const auto& steps = r["steps"];
  EXPECT_EQ(steps["parse"]["item_rows"], 8);
  EXPECT_EQ(steps["parse"]["items_parsed"], 4);
  EXPECT_EQ(steps["parse"]["interaction_rows"], 10);
  EXPECT_EQ(steps["parse"]["interactions_parsed"], 7);
  EXPECT_EQ(steps["parse"]["rejected"], nlohmann::json({{"bad_timestamp", 1},
                                                        {"duplicate_interaction", 1},
                                                        {"duplicate_item_id", 1},
                                                        {"empty_id", 1},
                                                        {"empty_item_id", 1},
                                                        {"malformed_row", 1},
                                                        {"wrong_field_count", 1}}));
  EXPECT_EQ(steps["text_cleaning"]["html_removed"], 1);
  EXPECT_EQ(steps["text_cleaning"]["invalid_utf8_repaired"], 0);
  EXPECT_EQ(steps["text_cleaning"]["missing_text"], 1);
  EXPECT_EQ(steps["images"]["checked"], 4);
  EXPECT_EQ(steps["images"]["copied"], 3);
  EXPECT_EQ(steps["images"]["recompressed"], 0);
  EXPECT_EQ(steps["images"]["rejected"], nlohmann::json({{"image_missing", 1}}));
  EXPECT_EQ(steps["numeric"]["repaired"],
            nlohmann::json({{"numeric_negative", 1}, {"numeric_not_a_number", 1}}));
  EXPECT_EQ(steps["join"]["unknown_item"], 1);
  EXPECT_EQ(steps["join"]["item_rejected"], 2);
  EXPECT_EQ(steps["activity_filter"]["rounds"], 0);
  EXPECT_EQ(r["result"]["items"], 3);
  EXPECT_EQ(r["result"]["items_with_image"], 3);
  EXPECT_EQ(r["result"]["interactions"], 4);
  EXPECT_EQ(r["result"]["users"], 3);
  EXPECT_EQ(r["rejects"], 11);
  EXPECT_EQ(r["repairs"], 3);
  EXPECT_TRUE(fs::exists(out("preprocess_config.yaml")));
}

TEST_F(PreprocessPipeline, KeepsItemsWithoutImageWhenImagesAreOptional) {
  config_.data.require_image = false;
  const PreprocessSummary summary = run();
  EXPECT_EQ(summary.items, 4u);
  EXPECT_EQ(summary.interactions, 5u);
  const std::string items = read_text(out("item_info.csv"));
  EXPECT_NE(items.find("\ni4,t4,d4,game,5,q,t4,\n"), std::string::npos) << items;
  EXPECT_NE(read_text(out("repairs.csv")).find("images/i4.jpg,,i4,image_file,image_missing\n"),
            std::string::npos);
  EXPECT_EQ(report()["steps"]["images"]["kept_without_image"],
            nlohmann::json({{"image_missing", 1}}));
  EXPECT_EQ(report()["result"]["items_with_image"], 3);
}

TEST_F(PreprocessPipeline, ReencodesLargeImagesAsDownscaledJpeg) {
  write_text(raw("images/i1.jpg"), encode(300, 150, ".jpg"));
  write_text(raw("images/i2.png"), encode(120, 120, ".png"));
  config_.data.offline_image_compression.resize_if_pixels_larger_than = std::vector<int>{100, 100};
  config_.data.offline_image_compression.resize_target_longest_edge = 60;
  run();
  EXPECT_NE(read_text(out("item_info.csv")).find("i2,title,,sport,0,y,Ｔｉｔｌｅ,i2.jpg\n"),
            std::string::npos);
  const auto i1 = read_image_size(read_text(out("images/i1.jpg")));
  const auto i2 = read_image_size(read_text(out("images/i2.jpg")));
  ASSERT_TRUE(i1 && i2);
  EXPECT_EQ(i1->width, 60);
  EXPECT_EQ(i1->height, 30);
  EXPECT_EQ(i2->width, 60);
  EXPECT_FALSE(fs::exists(out("images/i2.png")));
  EXPECT_EQ(read_text(out("images/i3.jpg")), read_text(raw("images/i3.jpg")));
  EXPECT_EQ(report()["steps"]["images"]["recompressed"], 2);
}

TEST_F(PreprocessPipeline, SecondRunDoesNothingUntilInputsOrConfigChange) {
  run();
  const auto written = fs::last_write_time(out("item_info.csv"));
  const auto image_written = fs::last_write_time(out("images/i1.jpg"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(run().up_to_date);
  EXPECT_EQ(fs::last_write_time(out("item_info.csv")), written);

  EXPECT_FALSE(run(/*force=*/true).up_to_date);
  EXPECT_NE(fs::last_write_time(out("item_info.csv")), written);
  // Redone, an image whose bytes are unchanged is not rewritten.
  EXPECT_EQ(fs::last_write_time(out("images/i1.jpg")), image_written);
  EXPECT_TRUE(run().up_to_date);

  config_.data.offline_image_validation.min_width = 100;  // now every image is too small
  config_.data.require_image = false;
  EXPECT_FALSE(run().up_to_date);
  EXPECT_EQ(report()["steps"]["images"]["kept_without_image"]["image_too_small"], 3);
  EXPECT_FALSE(fs::exists(out("images/i1.jpg")));  // stale output of the earlier run
}

TEST_F(PreprocessPipeline, OutputDoesNotDependOnTheThreadCount) {
  config_.training.num_workers = 1;
  run();
  const std::string items = read_text(out("item_info.csv"));
  const std::string rejects = read_text(out("rejects.csv"));
  config_.training.num_workers = 3;
  EXPECT_FALSE(run(/*force=*/true).up_to_date);
  EXPECT_EQ(read_text(out("item_info.csv")), items);
  EXPECT_EQ(read_text(out("rejects.csv")), rejects);
}

TEST_F(PreprocessPipeline, ChangedImageMakesTheOutputStale) {
  run();
  const std::string jpeg = read_text(raw("images/i3.jpg"));
  write_text(raw("images/i3.jpg"), jpeg.substr(0, jpeg.size() / 2));
  EXPECT_FALSE(run().up_to_date);
  EXPECT_NE(read_text(out("rejects.csv")).find("images/i3.jpg,,i3,image_truncated\n"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(out("images/i3.jpg")));
}

TEST_F(PreprocessPipeline, NeverModifiesRawFiles) {
  const std::string items = read_text(raw("item_info.csv"));
  const std::string image = read_text(raw("images/i1.jpg"));
  run();
  EXPECT_EQ(read_text(raw("item_info.csv")), items);
  EXPECT_EQ(read_text(raw("interactions.csv")), kInteractions);
  EXPECT_EQ(read_text(raw("images/i1.jpg")), image);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(PreprocessPipeline, MissingNumericColumnNamesFileColumnAndFix) {
  config_.data.numerical_features_cols = {"view_number", "coin_number"};
  EXPECT_EQ(error_of([&] { run(); }),
            "'" + raw("item_info.csv").string() +
                "' has no column 'coin_number', which data.numerical_features_cols lists "
                "(columns present: tag, item_id, title, description, view_number, category); add "
                "the column to the file or remove it from data.numerical_features_cols");
}

TEST_F(PreprocessPipeline, HeaderOnlyInteractionsIsAnError) {
  write_text(raw("interactions.csv"), "item_id,user_id,timestamp\n");
  EXPECT_EQ(error_of([&] { run(); }),
            "'" + raw("interactions.csv").string() +
                "' has a header but no interaction rows; add the interactions or point "
                "data.interactions_path at the right file");
}

TEST_F(PreprocessPipeline, EmptyResultCountsRejectsAndPointsToRejectsCsv) {
  write_text(raw("interactions.csv"), "item_id,user_id,timestamp\ni9,u1,1\ni8,u2,bad\n");
  EXPECT_EQ(error_of([&] { run(); }),
            "no interactions survived preprocessing: 7 rows were rejected and 0 interactions "
            "removed by the activity filter; see " +
                out("rejects.csv").string() +
                " for the reasons (fix the raw data or lower "
                "data.splitting.min_interactions_per_user/item)");
  EXPECT_NE(read_text(out("rejects.csv")).find("interactions.csv,2,u1,unknown_item\n"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(out("preprocess_report.json")));
}

TEST_F(PreprocessPipeline, RefusesToWriteOverRawFiles) {
  config_.data.processed_image_destination_folder = raw("images").string();
  EXPECT_EQ(error_of([&] { run(); }),
            "preprocess would overwrite the raw input '" + raw("images").string() +
                "' (data.image_folder); point the data.processed_* paths somewhere else");
}

}  // namespace
}  // namespace pixelrec
