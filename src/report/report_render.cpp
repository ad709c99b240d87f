// render_report and write_report: section order, the inputs section, the page shell (inline CSS,
// the embedded chart library and the script that draws the charts).
#include <spdlog/spdlog.h>

#include "core/files.h"
#include "core/strings.h"
#include "report/chart_library.h"
#include "report/html.h"
#include "report/page.h"
#include "report/report.h"

namespace pixelrec::report {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCss = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1150px; padding: 0 16px 48px; color: #222; background: #fff; }
h1 { font-size: 1.6em; margin: 24px 0 4px; }
h2 { font-size: 1.3em; border-bottom: 2px solid #ddd; padding-bottom: 4px; margin-top: 36px; }
h3 { font-size: 1.1em; margin-top: 24px; } h4 { font-size: 1em; margin: 16px 0 6px; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 6px 18px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 6px 0 12px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
thead th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.best { background: #d9f2d9; font-weight: 700; }
td.sig { background: #fff2cc; }
td.read { color: #2a7d2a; } td.absent { color: #777; } td.skipped { color: #b00020; }
.note, .chart-error { color: #8a5a00; }
ul.verdict { font-size: 1.1em; line-height: 1.5; padding-left: 1.2em; }
figure.chart { margin: 12px 0 20px; }
.canvas-box { position: relative; height: 340px; }
code { font-size: 0.9em; }
footer { margin-top: 40px; color: #777; font-size: 0.85em; }
)css";

constexpr const char* kDrawCharts = R"js(
(function () {
  'use strict';
  var rendered = 0;
  var specs = JSON.parse(document.getElementById('pixelrec-charts').textContent);
  specs.forEach(function (spec) {
    var canvas = document.getElementById(spec.id);
    try {
      if (typeof Chart === 'undefined') throw new Error('the chart library did not load');
      var datasets = spec.series.map(function (s) {
        var data = s.x.length ? s.x.map(function (x, i) { return {x: x, y: s.y[i]}; }) : s.y;
        return {label: s.label, data: data, borderColor: s.color, backgroundColor: s.color,
                hidden: !!s.hidden, stepped: s.stepped ? 'after' : false,
                showLine: !s.points_only,
                pointRadius: s.points_only ? 4 : 2, borderWidth: 2};
      });
      var valueAxis = {title: {display: true, text: spec.y_title}};
      var categoryAxis = {title: {display: true, text: spec.x_title}};
      if (spec.type === 'scatter') {
        categoryAxis.type = 'linear';
        categoryAxis.ticks = {precision: 0};  // trial numbers are integers
      }
      new Chart(canvas, {
        type: spec.type,
        data: {labels: spec.labels, datasets: datasets},
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          indexAxis: spec.horizontal ? 'y' : 'x',
          plugins: {title: {display: true, text: spec.title},
                    legend: {display: datasets.length > 1}},
          scales: spec.horizontal ? {x: valueAxis, y: categoryAxis}
                                  : {x: categoryAxis, y: valueAxis}
        }
      });
      canvas.setAttribute('data-rendered', 'true');
      rendered += 1;
    } catch (e) {
      var p = document.createElement('p');
      p.className = 'chart-error';
      p.textContent = 'Chart not drawn: ' + e.message + ' (its numbers are in the table below).';
      canvas.parentNode.parentNode.insertBefore(p, canvas.parentNode);
    }
  });
  document.body.setAttribute('data-charts-rendered', String(rendered));
})();
)js";

const char* status_name(InputStatus status) {
  switch (status) {
    case InputStatus::kRead:
      return "read";
    case InputStatus::kAbsent:
      return "absent";
    case InputStatus::kSkipped:
      return "skipped";
  }
  return "?";
}

std::string inputs_section(const ReportInputs& inputs, const Page& page) {
  std::string html =
      "<section id=\"inputs\">\n<h2>Inputs</h2>\n<div class=\"scroll\"><table class=\"data\">"
      "<thead><tr><th>file</th><th>status</th><th>detail</th></tr></thead><tbody>\n";
  for (const InputRecord& r : inputs.records) {
    html += "<tr><td><code>" + html_escape(r.path.string()) + "</code></td><td class=\"" +
            status_name(r.status) + "\">" + status_name(r.status) + "</td><td>" +
            html_escape(r.detail) + "</td></tr>\n";
  }
  html += "</tbody></table></div>\n";
  if (!page.omitted().empty()) {
    html += "<h3>Sections left out</h3>\n<ul>\n";
    for (const auto& [section, reason] : page.omitted()) {
      html += "<li>" + html_escape(section) + ": " + html_escape(reason) + "</li>\n";
    }
    html += "</ul>\n";
  }
  return html + "</section>\n";
}

// The library must not end the <script> element it is embedded in: "</script" (any case) only
// occurs inside its strings or comments, where "<\/" means the same.
std::string script_safe_js(std::string js) {
  const std::string lower = to_lower_ascii(js);
  for (size_t at = lower.rfind("</script"); at != std::string::npos;
       at = at == 0 ? std::string::npos : lower.rfind("</script", at - 1)) {
    js.replace(at, 2, "<\\/");
  }
  return js;
}

}  // namespace

RenderedReport render_report(const ReportInputs& inputs, const std::string& title) {
  Page page;
  std::vector<const EvalResultFile*> results;
  for (const RunFolder& run : inputs.runs)
    for (const EvalResultFile& r : run.results) results.push_back(&r);
  // The answer first: who won, by how much, how sure; the details follow, the inputs last.
  add_summary(page, results, inputs.studies);
  for (size_t i = 0; i < inputs.runs.size(); ++i) {
    add_run_summary(page, inputs.runs[i], "run-" + std::to_string(i) + "-summary");
    add_learning_curves(page, inputs.runs[i], "run-" + std::to_string(i) + "-curves");
  }
  if (!inputs.runs.empty()) {
    add_metric_tables(page, results);
    add_metrics_by_k(page, results);
    add_cold_vs_warm(page, results);
  }
  for (size_t i = 0; i < inputs.studies.size(); ++i) {
    add_search_history(page, inputs.studies[i], "study-" + std::to_string(i) + "-history");
    add_param_importance(page, inputs.studies[i], "study-" + std::to_string(i) + "-importance");
  }

  std::vector<std::string> names;
  for (const RunFolder& run : inputs.runs) names.push_back(run.name);
  for (const StudyFolder& study : inputs.studies) names.push_back(study.name);
  const std::string page_title = title.empty() ? "PixelRec-MM report: " + join(names, ", ") : title;

  RenderedReport out;
  out.charts = page.chart_count();
  std::string nav = "<nav><ul>";
  for (const auto& [id, section_title] : page.sections()) {
    out.sections.push_back(id);
    nav += "<li><a href=\"#" + html_escape(id) + "\">" + html_escape(section_title) + "</a></li>";
  }
  out.sections.push_back("inputs");
  nav += "<li><a href=\"#inputs\">Inputs</a></li></ul></nav>\n";

  std::string& html = out.html;
  html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
      html_escape(page_title) + "</title>\n<style>" + kCss + "</style>\n</head>\n" +
      "<body data-charts-expected=\"" + std::to_string(out.charts) + "\">\n<header><h1>" +
      html_escape(page_title) + "</h1></header>\n" + nav + "<main>\n" + page.body() +
      inputs_section(inputs, page) +
      "</main>\n<footer>Generated by "
      "<code>pixelrec report</code>; charts drawn by " +
      html_escape(chart_library_name()) +
      " (MIT license), embedded in this file. Every chart's numbers are in the table "
      "below it.</footer>\n<script type=\"application/json\" id=\"pixelrec-charts\">" +
      script_safe_json(page.charts_json()) + "</script>\n<script>\n" +
      script_safe_js(chart_library_js()) + "\n</script>\n<script>" + kDrawCharts +
      "</script>\n</body>\n</html>\n";
  return out;
}

ReportSummary write_report(const ReportRequest& request) {
  const ReportInputs inputs = load_report_inputs(request.dirs);
  const RenderedReport rendered = render_report(inputs, request.title);
  ReportSummary summary;
  summary.output = request.output.empty() ? request.dirs.front() / "report.html" : request.output;
  ensure_parent_directory(summary.output);
  write_file_atomic(summary.output, rendered.html);
  summary.charts = rendered.charts;
  summary.sections = rendered.sections;
  for (const InputRecord& r : inputs.records) {
    summary.skipped_inputs += r.status == InputStatus::kSkipped ? 1 : 0;
  }
  spdlog::info("report: wrote {} ({} sections, {} charts, {} input(s) skipped)",
               summary.output.string(), summary.sections.size(), summary.charts,
               summary.skipped_inputs);
  return summary;
}

}  // namespace pixelrec::report
