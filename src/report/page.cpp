#include "report/page.h"

#include <array>
#include <cmath>

#include "report/html.h"
#include "report/run_inputs.h"

namespace pixelrec::report {

namespace {

nlohmann::json series_json(const ChartSeries& s, bool hidden) {
  return {{"label", s.label},
          {"hidden", hidden},
          {"y", s.y},
          {"x", s.x},
          {"color", s.color},
          {"stepped", s.stepped},
          {"points_only", s.points_only}};
}

std::string chart_numbers(const ChartSpec& chart) {
  if (!chart.labels.empty()) {
    std::vector<std::string> columns;
    for (const ChartSeries& s : chart.series) columns.push_back(s.label);
    std::vector<std::pair<std::string, std::vector<double>>> rows;
    for (size_t i = 0; i < chart.labels.size(); ++i) {
      std::vector<double> values;
      for (const ChartSeries& s : chart.series) {
        values.push_back(i < s.y.size() ? s.y[i] : std::nan(""));
      }
      rows.emplace_back(chart.labels[i], std::move(values));
    }
    return number_table(chart.x_title, columns, rows, false);
  }
  std::string table = "<table class=\"data\"><thead><tr><th>series</th><th>" +
                      html_escape(chart.x_title) + "</th><th>" + html_escape(chart.y_title) +
                      "</th></tr></thead><tbody>\n";
  for (const ChartSeries& s : chart.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      table += "<tr><th>" + html_escape(s.label) + "</th>" + number_cell(s.x[i]) +
               number_cell(s.y[i]) + "</tr>\n";
    }
  }
  return table + "</tbody></table>\n";
}

std::string hidden_note(const ChartSpec& chart) {
  if (chart.series.size() <= kVisibleSeries) return "";
  std::string names;
  for (size_t i = kVisibleSeries; i < chart.series.size(); ++i)
    names += (names.empty() ? "" : ", ") + chart.series[i].label;
  return "<p class=\"note\">" + std::to_string(chart.series.size() - kVisibleSeries) +
         " more series start hidden (" + html_escape(names) +
         "): click a name in the legend to show it.</p>\n";
}

}  // namespace

void Page::begin_section(const std::string& id, const std::string& title) {
  sections_.emplace_back(id, title);
  body_ += "<section id=\"" + html_escape(id) + "\">\n<h2>" + html_escape(title) + "</h2>\n";
}

void Page::end_section() { body_ += "</section>\n"; }

void Page::chart(const ChartSpec& chart) {
  const std::string id = "chart-" + std::to_string(charts_.size());
  nlohmann::json series = nlohmann::json::array();
  for (size_t i = 0; i < chart.series.size(); ++i)
    series.push_back(series_json(chart.series[i], i >= kVisibleSeries));
  charts_.push_back({{"id", id},
                     {"type", chart.type},
                     {"title", chart.title},
                     {"x_title", chart.x_title},
                     {"y_title", chart.y_title},
                     {"labels", chart.labels},
                     {"horizontal", chart.horizontal},
                     {"series", std::move(series)}});
  body_ += "<figure class=\"chart\"><div class=\"canvas-box\"><canvas id=\"" + id +
           "\" role=\"img\" aria-label=\"" + html_escape(chart.title) + "\"></canvas></div>\n" +
           hidden_note(chart) + "<details><summary>Numbers: " + html_escape(chart.title) +
           "</summary>\n" + chart_numbers(chart) + "</details></figure>\n";
}

void Page::omit(const std::string& section, const std::string& reason) {
  omitted_.emplace_back(section, reason);
}

const std::string& palette(size_t i) {
  static const std::array<std::string, 10> colors = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                     "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                     "#bcbd22", "#17becf"};
  return colors[i % colors.size()];
}

std::string number_table(const std::string& corner, const std::vector<std::string>& columns,
                         const std::vector<std::pair<std::string, std::vector<double>>>& rows,
                         bool best_per_column) {
  std::vector<double> best(columns.size(), std::nan(""));
  if (best_per_column) {
    for (size_t c = 0; c < columns.size(); ++c) {
      const bool lower = lower_is_better(columns[c]);
      for (const auto& row : rows) {
        const double v = c < row.second.size() ? row.second[c] : std::nan("");
        if (std::isnan(v)) continue;
        if (std::isnan(best[c]) || (lower ? v < best[c] : v > best[c])) best[c] = v;
      }
    }
  }
  std::string table =
      "<div class=\"scroll\"><table class=\"data\"><thead><tr><th>" + html_escape(corner) + "</th>";
  for (const std::string& column : columns) table += "<th>" + html_escape(column) + "</th>";
  table += "</tr></thead><tbody>\n";
  for (const auto& [label, values] : rows) {
    table += "<tr><th>" + html_escape(label) + "</th>";
    for (size_t c = 0; c < columns.size(); ++c) {
      const double v = c < values.size() ? values[c] : std::nan("");
      // Several results may share the best value: all of them are highlighted.
      table += number_cell(v, !std::isnan(v) && v == best[c] ? "best" : "");
    }
    table += "</tr>\n";
  }
  return table + "</tbody></table></div>\n";
}

}  // namespace pixelrec::report
