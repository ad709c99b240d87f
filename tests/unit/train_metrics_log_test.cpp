// metrics.jsonl and metrics.csv: exact file contents, exact number round trips, non-finite
// values, and truncation for --resume giving the files an uninterrupted run writes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/errors.h"
#include "support/test_support.h"
#include "train/metrics_log.h"

namespace pixelrec::train {
namespace {

using test::read_text;
using test::ScratchDir;
using test::write_text;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

EpochMetrics row(int epoch, std::vector<std::pair<std::string, double>> values) {
  return EpochMetrics{epoch, std::move(values)};
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(MetricsLog, WritesJsonLinesAndACsvWithTheUnionOfNamesInFirstSeenOrder) {
  ScratchDir dir("metrics_log");
  MetricsLog log(dir / "metrics.jsonl", dir / "metrics.csv");
  log.append(row(0, {{"train_loss", 0.5}, {"val_loss", 0.25}}));
  log.append(row(1, {{"train_loss", 0.125}, {"val_ndcg@10", 0.3}, {"lr", 1e-05}}));
  log.append(row(2, {{"val_ndcg@10", 0.1}}));
  EXPECT_EQ(read_text(dir / "metrics.jsonl"),
            "{\"epoch\":0,\"train_loss\":0.5,\"val_loss\":0.25}\n"
            "{\"epoch\":1,\"train_loss\":0.125,\"val_ndcg@10\":0.3,\"lr\":1e-05}\n"
            "{\"epoch\":2,\"val_ndcg@10\":0.1}\n");
  EXPECT_EQ(read_text(dir / "metrics.csv"),
            "epoch,train_loss,val_loss,val_ndcg@10,lr\n"
            "0,0.5,0.25,,\n"
            "1,0.125,,0.3,1e-05\n"
            "2,,,0.1,\n");
}

TEST(MetricsLog, NonFiniteValuesAreJsonNullAndSpelledOutInCsv) {
  ScratchDir dir("metrics_log_nonfinite");
  MetricsLog log(dir / "m.jsonl", dir / "m.csv");
  log.append(row(0, {{"a", kNaN}, {"b", kInf}, {"c", -kInf}, {"d", -0.0}}));
  EXPECT_EQ(read_text(dir / "m.jsonl"),
            "{\"epoch\":0,\"a\":null,\"b\":null,\"c\":null,\"d\":-0.0}\n");
  EXPECT_EQ(read_text(dir / "m.csv"), "epoch,a,b,c,d\n0,nan,inf,-inf,-0\n");
  const auto rows = MetricsLog::read_jsonl(dir / "m.jsonl");
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].values.size(), 4u);
  EXPECT_TRUE(std::isnan(rows[0].values[0].second));
  EXPECT_TRUE(std::isnan(rows[0].values[1].second));
  EXPECT_TRUE(same_bits(rows[0].values[3].second, -0.0));
}

TEST(MetricsLog, NumbersRoundTripBitForBitInOrder) {
  ScratchDir dir("metrics_log_round_trip");
  const std::vector<double> values = {0.1,
                                      1.0 / 3.0,
                                      2.0 / 3.0,
                                      1e-300,
                                      5e-324,
                                      1e300,
                                      123456.789,
                                      -7.25,
                                      3.0,
                                      0.30000000000000004,
                                      1.7976931348623157e308,
                                      12345678901234567000.0};
  EpochMetrics written{4, {}};
  for (size_t i = 0; i < values.size(); ++i)
    written.values.emplace_back("m" + std::to_string(i), values[i]);
  MetricsLog log(dir / "m.jsonl", dir / "m.csv");
  log.append(written);
  const auto rows = MetricsLog::read_jsonl(dir / "m.jsonl");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].epoch, 4);
  ASSERT_EQ(rows[0].values.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(rows[0].values[i].first, "m" + std::to_string(i));
    EXPECT_TRUE(same_bits(rows[0].values[i].second, values[i])) << values[i];
    EXPECT_EQ(std::strtod(format_metric(values[i]).c_str(), nullptr), values[i]);
  }
  EXPECT_EQ(format_metric(0.1), "0.1");
  EXPECT_EQ(format_metric(0.30000000000000004), "0.30000000000000004");
}

TEST(MetricsLog, NamesNeedingQuotesAreEscapedInBothFiles) {
  ScratchDir dir("metrics_log_quotes");
  MetricsLog log(dir / "m.jsonl", dir / "m.csv");
  log.append(row(0, {{"a,\"b\"", 1.5}}));
  EXPECT_EQ(read_text(dir / "m.jsonl"), "{\"epoch\":0,\"a,\\\"b\\\"\":1.5}\n");
  EXPECT_EQ(read_text(dir / "m.csv"), "epoch,\"a,\"\"b\"\"\"\n0,1.5\n");
  EXPECT_EQ(MetricsLog::read_jsonl(dir / "m.jsonl")[0].values[0].first, "a,\"b\"");
}

// Epoch rows of a run with a metric ("recall") that first appears at epoch 3 and an infinite
// value, which JSON cannot hold but the CSV must keep.
std::vector<EpochMetrics> run_rows() {
  return {row(0, {{"loss", 0.9}, {"grad", kInf}}), row(1, {{"loss", 0.7}}),
          row(2, {{"loss", 0.6}, {"grad", 2.5}}), row(3, {{"loss", 0.5}, {"recall", 0.25}}),
          row(4, {{"loss", 0.4}, {"recall", 0.3}})};
}

TEST(MetricsLog, TruncateForResumeGivesTheFilesOfAnUninterruptedRun) {
  ScratchDir dir("metrics_log_resume");
  const auto rows = run_rows();
  {
    MetricsLog uninterrupted(dir / "u.jsonl", dir / "u.csv");
    for (const auto& r : rows) uninterrupted.append(r);
  }
  {
    MetricsLog crashed(dir / "r.jsonl", dir / "r.csv");
    for (const auto& r : rows) crashed.append(r);  // ran to epoch 4, checkpoint was at 2
  }
  MetricsLog resumed(dir / "r.jsonl", dir / "r.csv");  // a new process
  resumed.truncate_after(2);
  EXPECT_EQ(read_text(dir / "r.jsonl"),
            "{\"epoch\":0,\"loss\":0.9,\"grad\":null}\n{\"epoch\":1,\"loss\":0.7}\n"
            "{\"epoch\":2,\"loss\":0.6,\"grad\":2.5}\n");
  EXPECT_EQ(read_text(dir / "r.csv"), "epoch,loss,grad\n0,0.9,inf\n1,0.7,\n2,0.6,2.5\n");
  resumed.append(rows[3]);
  resumed.append(rows[4]);
  EXPECT_EQ(read_text(dir / "r.jsonl"), read_text(dir / "u.jsonl"));
  EXPECT_EQ(read_text(dir / "r.csv"), read_text(dir / "u.csv"));
}

TEST(MetricsLog, TruncateDropsATornLastLineAndToleratesMissingFiles) {
  ScratchDir dir("metrics_log_torn");
  write_text(dir / "m.jsonl", "{\"epoch\":0,\"loss\":1}\n{\"epoch\":1,\"lo");
  EXPECT_EQ(MetricsLog::read_jsonl(dir / "m.jsonl").size(), 1u);
  MetricsLog log(dir / "m.jsonl", dir / "m.csv");
  log.truncate_after(5);
  EXPECT_EQ(read_text(dir / "m.jsonl"), "{\"epoch\":0,\"loss\":1}\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "m.csv"));

  MetricsLog missing(dir / "none.jsonl", dir / "none.csv");
  missing.truncate_after(3);
  EXPECT_FALSE(std::filesystem::exists(dir / "none.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(dir / "none.csv"));
}

TEST(MetricsLog, MalformedLinesNameTheFileAndLine) {
  ScratchDir dir("metrics_log_bad");
  write_text(dir / "m.jsonl", "{\"epoch\":0,\"loss\":1}\n{\"loss\":2}\n");
  try {
    MetricsLog::read_jsonl(dir / "m.jsonl");
    FAIL() << "no error for a row without epoch";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.jsonl' line 2"), std::string::npos) << e.what();
  }
  write_text(dir / "s.jsonl", "{\"epoch\":0,\"loss\":\"high\"}\n");
  EXPECT_THROW(MetricsLog::read_jsonl(dir / "s.jsonl"), Error);
  EXPECT_THROW(MetricsLog::read_jsonl(dir / "absent.jsonl"), Error);
  write_text(dir / "bad.csv", "loss,epoch\n1,0\n");
  EXPECT_THROW(MetricsLog(dir / "x.jsonl", dir / "bad.csv"), Error);
}

TEST(MetricsLog, AppendingAnEpochThatIsNotNewIsABug) {
  ScratchDir dir("metrics_log_order");
  MetricsLog log(dir / "m.jsonl", dir / "m.csv");
  log.append(row(3, {{"loss", 1.0}}));
  EXPECT_THROW(log.append(row(3, {{"loss", 1.0}})), InternalError);
  EXPECT_THROW(log.append(row(4, {{"epoch", 1.0}})), InternalError);
  EXPECT_THROW(log.append(row(4, {{"a", 1.0}, {"a", 2.0}})), InternalError);
  MetricsLog reopened(dir / "m.jsonl", dir / "m.csv");  // knows epoch 3 from metrics.csv
  EXPECT_THROW(reopened.append(row(2, {{"loss", 1.0}})), InternalError);
}

}  // namespace
}  // namespace pixelrec::train
