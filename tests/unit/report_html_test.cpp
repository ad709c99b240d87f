// The rendered page: numbers in HTML tables, best-value highlighting, significance, escaping of
// text from files, sections left out when their inputs are absent, no external resources, and
// the written file.
#include <gtest/gtest.h>

#include <regex>

#include "core/errors.h"
#include "report/chart_library.h"
#include "report/html.h"
#include "report/report.h"
#include "report_fixtures.h"
#include "support/test_support.h"

namespace pixelrec::report {
namespace {

using test::read_text;
using test::ScratchDir;
using test::write_text;

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

RenderedReport render(const std::vector<std::filesystem::path>& dirs,
                      const std::string& title = "") {
  return render_report(load_report_inputs(dirs), title);
}

TEST(ReportHtml, NumberFormats) {
  EXPECT_EQ(format_number(0.1250706873550421), "0.1251");
  EXPECT_EQ(format_number(1.5476051287611116e-51), "1.55e-51");
  EXPECT_EQ(format_number(29865.019131075333), "29865");
  EXPECT_EQ(format_number(12.5), "12.5");
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(NAN), "\u2014");
  EXPECT_EQ(exact_number(0.1250706873550421), "0.1250706873550421");
  EXPECT_EQ(number_cell(0.5, "best"), "<td class=\"num best\" title=\"0.5\">0.5</td>");
  EXPECT_EQ(html_escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(script_safe_json({{"s", "</script><b>&"}}),
            "{\"s\":\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\"}");
}

TEST(ReportHtml, MetricTablesShowEveryNumberAndHighlightTheBestPerColumn) {
  ScratchDir dir("report_html_tables");
  fixtures::write_run(dir / "run");
  const std::string html = render({dir / "run"}).html;
  // multimodal beats popularity on ndcg@10; popularity has the lower (better) Gini.
  EXPECT_NE(html.find("<td class=\"num best\" title=\"0.1250706873550421\">0.1251</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\" title=\"0.06229093944853021\">0.06229</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num best\" title=\"0.9592480564824155\">0.9592</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\" title=\"0.9987\">0.9987</td>"), std::string::npos);
  // Significance from the result file: p-values under 0.05 are marked, others not.
  EXPECT_NE(html.find("multimodal against popularity (paired over the users both evaluated): 1 "
                      "of 2 metrics differ at p &lt; 0.05 in both tests</summary>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num sig\" title=\"1.5476051287611116e-51\">1.55e-51</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num sig\" title=\"2.412169108445152e-49\">2.41e-49</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\" title=\"0.3125\">0.3125</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\" title=\"29354.5\">29354</td>"), std::string::npos);
  // Run summary: fingerprint mismatch with the results, best epoch by val_ndcg@10 (maximized).
  EXPECT_NE(html.find("evaluation results record <code>00aa11bb22cc33dd</code>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr><th>best epoch</th><td>1 (val_ndcg@10 = 0.4127, maximized)</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr><th>epochs</th><td>3 (epoch 0 to 2"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>training time</th><td>23.5 s"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>model.fusion_hidden_dims</th><td><code>[256, 128]</code>"),
            std::string::npos);
}

TEST(ReportHtml, ChartsComeWithTheirNumbersAndTheExpectedCount) {
  ScratchDir dir("report_html_charts");
  fixtures::write_run(dir / "run");
  fixtures::write_study(dir / "study");
  const RenderedReport r = render({dir / "run", dir / "study"});
  // losses, val ranking, lr; ndcg/recall/hit_rate by K for full and cold_item; cold vs warm;
  // search history; importance.
  EXPECT_EQ(r.charts, 3 + 6 + 1 + 1 + 1);
  EXPECT_EQ(count(r.html, "<canvas id=\"chart-"), 12u);
  EXPECT_EQ(count(r.html, "<details><summary>Numbers: "), 12u);
  EXPECT_NE(r.html.find("<body data-charts-expected=\"12\">"), std::string::npos);
  // The answer first, the files read last.
  EXPECT_EQ(r.sections, (std::vector<std::string>{
                            "summary", "run-0-summary", "run-0-curves", "metrics", "metrics-by-k",
                            "cold-vs-warm", "study-0-history", "study-0-importance", "inputs"}));
  EXPECT_LT(r.html.find("<section id=\"summary\">"), r.html.find("<section id=\"run-0-summary\">"));
  EXPECT_GT(r.html.find("<section id=\"inputs\">"),
            r.html.find("<section id=\"study-0-importance\">"));
  // Learning-curve numbers, in the chart's table (epoch 2's lr).
  EXPECT_NE(r.html.find("<td class=\"num\" title=\"0.0025\">0.0025</td>"), std::string::npos);
  // Cold vs warm: ndcg@10 warm then cold for multimodal; popularity has no cold result.
  EXPECT_NE(r.html.find("multimodal (warm: full)</th>"), std::string::npos);
  EXPECT_NE(r.html.find("title=\"0.20402872557227347\""), std::string::npos);
  // Study: states, best so far (maximize) and the quoted message.
  EXPECT_NE(r.html.find("5 trial(s): 3 COMPLETE; 1 FAILED; 1 PRUNED; best: trial 1, value 0.45 "
                        "(maximize)."),
            std::string::npos);
  EXPECT_NE(r.html.find("<tr><th>4</th><td class=\"state\" style=\"color:#1f77b4\">COMPLETE</td>"
                        "<td class=\"num\" title=\"0.43\">0.43</td><td class=\"num\" "
                        "title=\"0.45\">0.45</td>"),
            std::string::npos);
  EXPECT_NE(r.html.find("exit status 1: boom, &quot;quoted&quot;"), std::string::npos);
  EXPECT_NE(r.html.find("PRUNED (no value; drawn at the lowest value)"), std::string::npos);
  // Importance: lr (3 values, 2 bins) and optimizer split the 3 COMPLETE trials alike,
  // {0.41, 0.43} vs {0.45}: eta^2 = 0.0006 / 0.0008, epsilon^2 = 1 - 0.0002 / 0.0004.
  EXPECT_TRUE(std::regex_search(
      r.html, std::regex("<tr><th>optimizer</th><td>categorical</td><td class=\"num\" "
                         "title=\"2\">2</td><td class=\"num\" title=\"[0-9.e-]+\">0.75</td>"
                         "<td class=\"num\" title=\"[0-9.e-]+\">0.5</td><td class=\"num\" "
                         "title=\"[0-9.e-]+\">0.5</td></tr>")));
}

TEST(ReportHtml, TextFromFilesIsEscaped) {
  ScratchDir dir("report_html_escape");
  const auto run = dir / "run";
  fixtures::write_result(run, "x", "full", "\"ndcg@10\": 0.5");
  write_text(run / "eval/x_full.json",
             "{\"recommender\": \"<script>alert(1)</script>\", \"task\": \"full\", \"metrics\": "
             "{\"ndcg@10\": 0.5, \"<img src=x onerror=alert(2)>\": 0.25}, \"notes\": "
             "[\"a & b <i>\"]}");
  write_text(run / "config.yaml", "model:\n  fusion_type: \"</code><b>bold</b>\"\n");
  const std::string html = render({run}, "T <em>itle</em>").html;
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos);
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold</b>"), std::string::npos);
  EXPECT_EQ(html.find("<em>itle"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_NE(html.find("<code>&lt;/code&gt;&lt;b&gt;bold&lt;/b&gt;</code>"), std::string::npos);
  EXPECT_NE(html.find("a &amp; b &lt;i&gt;"), std::string::npos);
  EXPECT_NE(html.find("<title>T &lt;em&gt;itle&lt;/em&gt;</title>"), std::string::npos);
  // In the chart data block the name is \u-escaped, so it cannot end the <script> element.
  EXPECT_NE(html.find("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"), std::string::npos);
  EXPECT_EQ(count(html, "</script>"), 3u);  // the data block, the library, the drawing script
}

TEST(ReportHtml, SectionsWithoutInputsAreLeftOutAndSaySo) {
  ScratchDir dir("report_html_missing");
  const auto run = dir / "evaluated-only";
  fixtures::write_result(run, "popularity", "full", "\"ndcg@10\": 0.0623");
  const RenderedReport r = render({run});
  EXPECT_EQ(r.sections, (std::vector<std::string>{"summary", "metrics", "metrics-by-k", "inputs"}));
  EXPECT_EQ(r.html.find("id=\"run-0-curves\""), std::string::npos);
  EXPECT_NE(r.html.find("<li>Run summary (evaluated-only): config.yaml and metrics.jsonl absent "
                        "or skipped</li>"),
            std::string::npos);
  EXPECT_NE(r.html.find("<li>Learning curves (evaluated-only): metrics.jsonl absent, skipped or "
                        "empty</li>"),
            std::string::npos);
  EXPECT_NE(r.html.find("<li>Cold vs warm items: no cold_item result among the folders</li>"),
            std::string::npos);
  EXPECT_NE(r.html.find("metrics.jsonl</code></td><td class=\"absent\">absent</td>"),
            std::string::npos);
  EXPECT_NE(r.html.find("popularity_full.json</code></td><td class=\"read\">read</td>"),
            std::string::npos);

  // A study without any COMPLETE trial: history shown, importance explains why it is undefined.
  const auto study = dir / "study";
  write_text(study / "trials.csv", "number,state,value,params_x\n0,FAILED,,1\n1,PRUNED,,2\n");
  const RenderedReport s = render({study});
  EXPECT_NE(s.html.find("best_params.json absent: the direction is unknown"), std::string::npos);
  EXPECT_NE(s.html.find("Importance is not defined: fewer than 3 COMPLETE trials"),
            std::string::npos);
  EXPECT_EQ(s.charts, 1);  // the history only
}

TEST(ReportHtml, ThePageLoadsNothingFromOutside) {
  ScratchDir dir("report_html_offline");
  fixtures::write_run(dir / "run");
  fixtures::write_study(dir / "study");
  const std::string html = render({dir / "run", dir / "study"}).html;
  EXPECT_NE(html.find(chart_library_name()), std::string::npos);
  // The library is inline: Debian's libjs-chart.js, its banner and all.
  EXPECT_EQ(chart_library_name().rfind("Chart.js 3.", 0), 0u) << chart_library_name();
  EXPECT_NE(html.find("Chart.js v3"), std::string::npos);
  EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("<iframe"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(std::regex_search(html, std::regex("<script[^>]*\\ssrc\\s*=")), false);
  // Links only to sections of the page itself.
  const std::regex href("href=\"([^\"]*)\"");
  size_t links = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator();
       ++it, ++links) {
    EXPECT_EQ((*it)[1].str().substr(0, 1), "#") << (*it)[1].str();
  }
  EXPECT_EQ(links, 9u);
  // http(s):// appears only inside the library's /*! license */ comments (never fetched).
  for (const std::string scheme : {"http://", "https://", "//cdn"}) {
    for (size_t at = html.find(scheme); at != std::string::npos; at = html.find(scheme, at + 1)) {
      const size_t open = html.rfind("/*!", at), close = html.rfind("*/", at);
      EXPECT_TRUE(open != std::string::npos && (close == std::string::npos || close < open))
          << html.substr(at > 60 ? at - 60 : 0, 120);
    }
  }
}

TEST(ReportHtml, WriteReportDefaultsToTheFirstFolderAndWritesAtomically) {
  ScratchDir dir("report_write");
  fixtures::write_run(dir / "run");
  write_text(dir / "run/eval/broken_full.json", "not json");
  const ReportSummary s = write_report({{dir / "run"}, "", "My run"});
  EXPECT_EQ(s.output, dir / "run/report.html");
  EXPECT_EQ(s.skipped_inputs, 1u);
  const std::string html = read_text(s.output);
  EXPECT_NE(html.find("<title>My run</title>"), std::string::npos);
  EXPECT_NE(html.find("broken_full.json</code></td><td class=\"skipped\">skipped</td><td>"),
            std::string::npos);
  EXPECT_EQ(s.charts, 3 + 6 + 1);
  // Re-running over the same folder reads the same inputs (report.html is not one of them).
  const ReportSummary again = write_report({{dir / "run"}, dir / "out/r.html", ""});
  EXPECT_EQ(
      read_text(again.output).find("<title>PixelRec-MM report: run</title>") != std::string::npos,
      true);
  for (const auto& entry : std::filesystem::directory_iterator(dir / "out")) {
    EXPECT_EQ(entry.path().filename(), "r.html");  // no temp file left behind
  }
}

}  // namespace
}  // namespace pixelrec::report
