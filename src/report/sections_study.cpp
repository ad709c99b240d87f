// Study sections: the search history (value by trial, best so far, trial states) and parameter
// importance over the COMPLETE trials.
#include <algorithm>
#include <cmath>
#include <map>

#include "report/html.h"
#include "report/page.h"
#include "report/param_importance.h"
#include "report/report.h"

namespace pixelrec::report {

namespace {

const std::string& state_color(const std::string& state) {
  static const std::map<std::string, std::string> colors = {
      {"COMPLETE", "#1f77b4"}, {"PRUNED", "#ff7f0e"}, {"FAILED", "#d62728"},
      {"RUNNING", "#2ca02c"},  {"STALE", "#7f7f7f"},  {"WAITING", "#bcbd22"}};
  static const std::string other = "#8c564b";
  const auto it = colors.find(state);
  return it == colors.end() ? other : it->second;
}

bool better(bool minimize, double a, double b) { return minimize ? a < b : a > b; }

}  // namespace

void add_search_history(Page& page, const StudyFolder& study, const std::string& id) {
  if (!study.trials) {
    page.omit("Search history (" + study.name + ")", "trials.csv absent or skipped");
    return;
  }
  const StudyTrials& t = *study.trials;
  page.begin_section(id, "Search history: " + study.name);
  std::map<std::string, size_t> counts;
  for (const StudyTrial& trial : t.trials) ++counts[trial.state];
  std::string summary = "<p>" + std::to_string(t.trials.size()) + " trial(s):";
  for (const auto& [state, n] : counts)
    summary += " " + std::to_string(n) + " " + html_escape(state) + ";";
  if (study.best) {
    summary += " best: trial " + std::to_string(study.best->trial) + ", value " +
               format_number(study.best->value) + " (" + html_escape(study.best->direction) + ").";
  } else {
    summary += " best_params.json absent: the direction is unknown, so no best-so-far line.";
  }
  page.html(summary + "</p>\n");

  const bool minimize = study.best && study.best->direction == "minimize";
  ChartSeries complete{"COMPLETE", {}, {}, state_color("COMPLETE")};
  complete.points_only = true;
  ChartSeries best_line{"best so far", {}, {}, "#222222"};
  best_line.stepped = true;
  std::vector<double> best_so_far(t.trials.size(), NAN);
  double best = NAN, lowest = NAN;
  for (size_t i = 0; i < t.trials.size(); ++i) {
    const StudyTrial& trial = t.trials[i];
    if (trial.state == "COMPLETE" && trial.value && std::isfinite(*trial.value)) {
      const double v = *trial.value;
      complete.x.push_back(static_cast<double>(trial.number));
      complete.y.push_back(v);
      if (std::isnan(best) || better(minimize, v, best)) best = v;
      if (std::isnan(lowest) || v < lowest) lowest = v;
      if (study.best) {
        best_line.x.push_back(static_cast<double>(trial.number));
        best_line.y.push_back(best);
      }
    }
    best_so_far[i] = study.best ? best : NAN;
  }
  ChartSpec chart;
  chart.type = "scatter";
  chart.title = "Objective value by trial";
  chart.x_title = "trial";
  chart.y_title = "value";
  chart.series.push_back(complete);
  if (study.best) chart.series.push_back(best_line);
  std::map<std::string, ChartSeries> others;  // trials without a value, drawn at the bottom
  for (const StudyTrial& trial : t.trials) {
    if (trial.state == "COMPLETE") continue;
    auto [it, inserted] = others.try_emplace(trial.state);
    if (inserted) {
      it->second.label = trial.state + " (no value; drawn at the lowest value)";
      it->second.color = state_color(trial.state);
      it->second.points_only = true;
    }
    it->second.x.push_back(static_cast<double>(trial.number));
    it->second.y.push_back(std::isnan(lowest) ? 0.0 : lowest);
  }
  for (auto& [state, series] : others) chart.series.push_back(std::move(series));
  page.chart(chart);

  std::string table =
      "<details><summary>Every trial</summary><div class=\"scroll\"><table class=\"data\"><thead>"
      "<tr><th>trial</th><th>state</th><th>value</th><th>best so far</th>";
  for (const std::string& name : t.param_names) table += "<th>" + html_escape(name) + "</th>";
  table += "<th>duration (s)</th><th>message</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < t.trials.size(); ++i) {
    const StudyTrial& trial = t.trials[i];
    table += "<tr><th>" + std::to_string(trial.number) +
             "</th><td class=\"state\" style=\"color:" + state_color(trial.state) + "\">" +
             html_escape(trial.state) + "</td>" + number_cell(trial.value.value_or(NAN)) +
             number_cell(best_so_far[i]);
    for (const std::string& value : trial.params) table += "<td>" + html_escape(value) + "</td>";
    table += "<td>" + html_escape(trial.duration_s) + "</td><td>" + html_escape(trial.message) +
             "</td></tr>\n";
  }
  page.html(table + "</tbody></table></div></details>\n");
  page.end_section();
}

void add_param_importance(Page& page, const StudyFolder& study, const std::string& id) {
  if (!study.trials || study.trials->param_names.empty()) {
    page.omit("Parameter importance (" + study.name + ")",
              study.trials ? "trials.csv has no params_ column" : "trials.csv absent or skipped");
    return;
  }
  const StudyTrials& t = *study.trials;
  std::vector<std::optional<double>> objective;
  for (const StudyTrial& trial : t.trials) {
    objective.push_back(trial.state == "COMPLETE" ? trial.value : std::nullopt);
  }
  std::vector<ParamColumn> columns;
  for (size_t p = 0; p < t.param_names.size(); ++p) {
    ParamColumn column{t.param_names[p], {}};
    for (const StudyTrial& trial : t.trials) column.values.push_back(trial.params[p]);
    columns.push_back(std::move(column));
  }
  const ImportanceResult result = parameter_importance(objective, columns);
  page.begin_section(id, "Parameter importance: " + study.name);
  page.html(
      "<p>For each parameter, the COMPLETE trials are grouped by its value (numeric: "
      "clamp(&lfloor;&radic;n<sub>active</sub>&rfloor;, 2, 10)"
      " quantile bins; categorical: one group per value; trials where it was inactive: one more "
      "group). &epsilon;&sup2; = max(0, 1 &minus; (SS<sub>within</sub>/(n&minus;k)) / "
      "(SS<sub>total</sub>/(n&minus;1))) is the share of the objective's variance the grouping "
      "explains beyond chance; importance = &epsilon;&sup2; / &Sigma; &epsilon;&sup2;. n = " +
      std::to_string(result.trials) + " trials.</p>\n");
  if (!result.undefined_reason.empty()) {
    page.html("<p class=\"note\">Importance is not defined: " +
              html_escape(result.undefined_reason) + ".</p>\n");
  }
  std::vector<ParamImportance> sorted = result.params;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.importance > b.importance; });
  std::string table =
      "<div class=\"scroll\"><table class=\"data\"><thead><tr><th>parameter</th><th>kind</th>"
      "<th>groups k</th><th>&eta;&sup2;</th><th>&epsilon;&sup2;</th><th>importance</th></tr>"
      "</thead><tbody>\n";
  for (const ParamImportance& p : sorted) {
    table += "<tr><th>" + html_escape(p.name) + "</th><td>" +
             (p.numeric ? "numeric" : "categorical") + "</td>" +
             number_cell(static_cast<double>(p.groups)) + number_cell(p.eta_squared) +
             number_cell(p.epsilon_squared) + number_cell(p.importance) + "</tr>\n";
  }
  page.html(table + "</tbody></table></div>\n");
  if (result.undefined_reason.empty()) {
    ChartSpec chart;
    chart.type = "bar";
    chart.horizontal = true;
    chart.title = "Parameter importance";
    chart.x_title = "parameter";
    chart.y_title = "importance";
    ChartSeries series{"importance", {}, {}, palette(0)};
    for (const ParamImportance& p : sorted) {
      chart.labels.push_back(p.name);
      series.y.push_back(p.importance);
    }
    chart.series.push_back(std::move(series));
    page.chart(chart);
  }
  page.end_section();
}

}  // namespace pixelrec::report
