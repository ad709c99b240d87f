// The summary that opens the report: who won each task and by how much, the model against the
// best baseline with a paired test (from the per-user files, else the result file), the
// numeric-source flag, each search's best trial; and the charts' series limit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eval/significance.h"
#include "report/html.h"
#include "report/page.h"
#include "report/report.h"
#include "report/verdict.h"
#include "report_fixtures.h"
#include "support/test_support.h"

namespace pixelrec::report {
namespace {

using test::ScratchDir;
using test::write_text;

std::string summary_of(const std::string& html) {
  const size_t begin = html.find("<section id=\"summary\">");
  EXPECT_NE(begin, std::string::npos);
  return html.substr(begin, html.find("</section>", begin) - begin);
}

TEST(ReportSummary, OpensWithTheWinnerItsMarginTheTestAndTheBestTrial) {
  ScratchDir dir("report_summary");
  fixtures::write_run(dir / "run");
  fixtures::write_study(dir / "study");
  const RenderedReport r = render_report(load_report_inputs({dir / "run", dir / "study"}), "");
  const std::string summary = summary_of(r.html);
  // No per-user files: the model's result file tested it against popularity, the best baseline.
  EXPECT_NE(summary.find("<li>multimodal wins task full: ndcg@10 = 0.1251, " +
                         format_number(0.1250706873550421 / 0.06229093944853021) +
                         "x popularity, the best of 1 baseline (paired t-test p = 1.55e-51 over "
                         "2993 users).</li>"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("<li>multimodal wins task cold_item: ndcg@10 = 0.204.</li>"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("<li>Search study: 5 trials (3 COMPLETE, 1 FAILED, 1 PRUNED); the best "
                         "is trial 1 with 0.45 (maximized).</li>"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("<td>not recorded</td>"), std::string::npos) << summary;
}

// Per-user values of `metric` for users u0..; the model file skips none, the baseline's u4.
void write_per_user(const std::filesystem::path& path, const std::vector<double>& values) {
  std::string csv = "user_id,ndcg@10,recall@10\n";
  for (size_t u = 0; u < values.size(); ++u)
    csv += "u" + std::to_string(u) + "," + std::to_string(values[u]) + ",0.5\n";
  write_text(path, csv);
}

TEST(ReportSummary, ABaselineThatBeatsTheModelWinsAndPerUserFilesGiveTheTest) {
  ScratchDir dir("report_summary_baseline");
  const auto run = dir / "run";
  const std::string leak_free =
      R"x(, "numeric_source": "train_interactions (counters from the training split only)")x";
  fixtures::write_result(run, "multimodal", "full", R"("ndcg@10": 0.2, "recall@10": 0.3)",
                         leak_free);
  fixtures::write_result(run, "userknn", "full", R"("ndcg@10": 0.25, "recall@10": 0.35)");
  fixtures::write_result(run, "popularity", "full", R"("ndcg@10": 0.1, "recall@10": 0.2)");
  const std::vector<double> model = {0.1, 0.3, 0.2, 0.0, 0.4, 0.5};
  const std::vector<double> userknn = {0.3, 0.2, 0.4, 0.1, 0.5};  // u5 not evaluated
  write_per_user(run / "eval" / "multimodal_full.per_user.csv", model);
  write_per_user(run / "eval" / "userknn_full.per_user.csv", userknn);

  const RenderedReport r = render_report(load_report_inputs({run}), "");
  const std::string summary = summary_of(r.html);
  const eval::PairedTest expected =
      eval::paired_tests({0.1, 0.3, 0.2, 0.0, 0.4}, {0.3, 0.2, 0.4, 0.1, 0.5});
  EXPECT_NE(summary.find("<li>userknn wins task full: ndcg@10 = 0.25; the model reaches 0.2, 0.8x "
                         "userknn (the best of 2 baselines) (paired t-test p = " +
                         format_number(expected.t_p_value) + " over 5 users).</li>"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find(number_cell(expected.t_p_value)), std::string::npos) << summary;
  EXPECT_NE(summary.find(number_cell(expected.wilcoxon_p_value)), std::string::npos) << summary;
  EXPECT_NE(summary.find("<td>leak-free</td>"), std::string::npos) << summary;
}

TEST(ReportSummary, NumericSourceFlags) {
  EvalResultFile r;
  EXPECT_EQ(numeric_source_flag(r), "not recorded");
  r.numeric_source = "none";
  EXPECT_EQ(numeric_source_flag(r), "no numeric features");
  r.numeric_source = "catalogue (the item file's lifetime counters ...)";
  EXPECT_EQ(numeric_source_flag(r), "can leak");
  r.numeric_source = "train_interactions (counters from the training split only: leak-free)";
  EXPECT_EQ(numeric_source_flag(r), "leak-free");
}

TEST(ReportSummary, MetricTablesShowKTenAndPutTheOtherCutOffsBehindAToggle) {
  ScratchDir dir("report_summary_k10");
  fixtures::write_run(dir / "run");
  const RenderedReport r = render_report(load_report_inputs({dir / "run"}), "");
  const size_t metrics = r.html.find("<section id=\"metrics\">");
  const size_t accuracy = r.html.find("<h4>Accuracy</h4>", metrics);
  const size_t header_end = r.html.find("</tr></thead>", accuracy);
  const std::string first_header = r.html.substr(accuracy, header_end - accuracy);
  EXPECT_NE(first_header.find("<th>ndcg@10</th>"), std::string::npos) << first_header;
  EXPECT_NE(first_header.find("<th>mrr</th>"), std::string::npos) << first_header;
  EXPECT_EQ(first_header.find("@5"), std::string::npos) << first_header;
  EXPECT_NE(r.html.find("<details><summary>Other cut-offs (K = 5)</summary>", header_end),
            std::string::npos);
}

TEST(ReportSummary, ChartsShowSixSeriesAndHideTheRestBehindTheLegend) {
  Page page;
  ChartSpec chart;
  chart.type = "line";
  chart.title = "ndcg@K";
  chart.labels = {"5", "10"};
  for (int i = 0; i < 8; ++i)
    chart.series.push_back({"r" + std::to_string(i), {0.1 * i, 0.2 * i}, {}, palette(i)});
  page.chart(chart);
  const auto series = page.charts_json()[0]["series"];
  ASSERT_EQ(series.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(series[i]["hidden"], i >= kVisibleSeries) << i;
  EXPECT_NE(page.body().find("2 more series start hidden (r6, r7): click a name in the legend"),
            std::string::npos)
      << page.body();
}

}  // namespace
}  // namespace pixelrec::report
