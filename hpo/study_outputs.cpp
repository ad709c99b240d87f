#include "hpo/study_outputs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <utility>

#include "core/files.h"
#include "core/text_formats.h"

namespace pixelrec::hpo {

namespace {

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string value_text(const FrozenTrial& t) {
  return t.state == TrialState::kComplete && t.value ? format_value(*t.value) : "";
}

std::string duration_text(const StoredTrial& t) {
  return t.started && t.finished ? fixed(*t.finished - *t.started, 3) : "";
}

std::string param_text(const FrozenTrial& t, const std::string& name) {
  const auto it = t.params.find(name);
  return it == t.params.end() ? "" : format_value(it->second);
}

const StoredTrial* best_of(Direction direction, const std::vector<StoredTrial>& trials) {
  const StoredTrial* best = nullptr;
  for (const StoredTrial& t : trials) {
    if (t.trial.state != TrialState::kComplete || !t.trial.value) continue;
    if (!best || is_better(direction, *t.trial.value, *best->trial.value)) best = &t;
  }
  return best;
}

// Value by trial (COMPLETE trials as dots) and the best value so far (a step line).
std::string svg_plot(Direction direction, const std::vector<StoredTrial>& trials) {
  std::vector<std::pair<double, double>> points;  // (trial number, value)
  for (const StoredTrial& t : trials) {
    if (t.trial.state == TrialState::kComplete && t.trial.value) {
      points.emplace_back(static_cast<double>(t.trial.number), *t.trial.value);
    }
  }
  if (points.empty()) return "<p>No trial completed: nothing to plot.</p>\n";
  constexpr double kW = 720, kH = 320, kLeft = 70, kRight = 20, kTop = 20, kBottom = 40;
  double lo = points[0].second, hi = lo;
  for (const auto& p : points) lo = std::min(lo, p.second), hi = std::max(hi, p.second);
  if (hi == lo) hi = lo + 1.0;
  const double last = static_cast<double>(trials.back().trial.number);
  const double x_span = std::max(1.0, last);
  auto x = [&](double n) { return kLeft + (kW - kLeft - kRight) * n / x_span; };
  auto y = [&](double v) { return kTop + (kH - kTop - kBottom) * (hi - v) / (hi - lo); };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(kW, 0) +
                    "\" height=\"" + fixed(kH, 0) +
                    "\" role=\"img\" aria-label=\"value by trial\">\n";
  svg += "<rect x=\"" + fixed(kLeft, 0) + "\" y=\"" + fixed(kTop, 0) + "\" width=\"" +
         fixed(kW - kLeft - kRight, 0) + "\" height=\"" + fixed(kH - kTop - kBottom, 0) +
         "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (const auto& [label, v] :
       {std::pair{format_value(hi), hi}, std::pair{format_value(lo), lo}}) {
    svg += "<text x=\"" + fixed(kLeft - 6, 0) + "\" y=\"" + fixed(y(v) + 4, 1) +
           "\" text-anchor=\"end\" font-size=\"11\">" + html_escape(label) + "</text>\n";
  }
  svg += "<text x=\"" + fixed(kLeft, 0) + "\" y=\"" + fixed(kH - 22, 0) +
         "\" font-size=\"11\">0</text>\n<text x=\"" + fixed(x(x_span), 1) + "\" y=\"" +
         fixed(kH - 22, 0) + "\" text-anchor=\"end\" font-size=\"11\">" + fixed(x_span, 0) +
         "</text>\n<text x=\"" + fixed(kW / 2, 0) + "\" y=\"" + fixed(kH - 6, 0) +
         "\" text-anchor=\"middle\" font-size=\"12\">trial</text>\n";
  std::string best_line;
  double best = points[0].second;
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& [n, v] = points[i];
    if (i > 0 && is_better(direction, v, best)) {
      best_line += " " + fixed(x(n), 1) + "," + fixed(y(best), 1);  // hold, then step
      best = v;
    }
    best_line += " " + fixed(x(n), 1) + "," + fixed(y(best), 1);
    svg += "<circle cx=\"" + fixed(x(n), 1) + "\" cy=\"" + fixed(y(v), 1) +
           "\" r=\"3\" fill=\"#1f77b4\"><title>trial " + fixed(n, 0) + ": " +
           html_escape(format_value(v)) + "</title></circle>\n";
  }
  svg += "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"" + best_line +
         "\"/>\n</svg>\n";
  return svg;
}

}  // namespace

std::string best_params_json(const StudyRecord& study, const FrozenTrial& best) {
  nlohmann::json j = {{"study", study.name},
                      {"direction", std::string(to_string(study.direction))},
                      {"trial", best.number},
                      {"value", best.value.value_or(std::numeric_limits<double>::quiet_NaN())},
                      {"params", params_to_json(best.params)}};
  return j.dump(2) + "\n";
}

std::string trials_csv(const SearchSpace& space, const std::vector<StoredTrial>& trials) {
  std::string csv = "number,state,value";
  for (const ParamSpec& spec : space.params()) csv += "," + csv_cell("params_" + spec.name);
  csv += ",duration_s,attempt,message\n";
  for (const StoredTrial& t : trials) {
    csv += std::to_string(t.trial.number) + "," + std::string(to_string(t.trial.state)) + "," +
           value_text(t.trial);
    for (const ParamSpec& spec : space.params()) {
      csv += "," + csv_cell(param_text(t.trial, spec.name));
    }
    csv +=
        "," + duration_text(t) + "," + std::to_string(t.attempt) + "," + csv_cell(t.message) + "\n";
  }
  return csv;
}

std::string history_html(const StudyRecord& study, const SearchSpace& space,
                         const std::vector<StoredTrial>& trials) {
  std::map<TrialState, size_t> counts;
  for (const StoredTrial& t : trials) ++counts[t.trial.state];
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Study " +
      html_escape(study.name) +
      "</title>\n<style>\nbody{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
      "tr.best{background:#fff3c4}td.msg{text-align:left}\n</style>\n</head>\n<body>\n";
  html += "<h1>Study " + html_escape(study.name) +
          "</h1>\n<p>Direction: " + std::string(to_string(study.direction)) + ". Created " +
          html_escape(study.created) + ". Trials: " + std::to_string(trials.size());
  for (const auto& [state, n] : counts) {
    html += ", " + std::string(to_string(state)) + " " + std::to_string(n);
  }
  html += ".</p>\n";
  const StoredTrial* best = best_of(study.direction, trials);
  if (best) {
    html += "<p>Best: trial " + std::to_string(best->trial.number) + ", value " +
            html_escape(format_value(*best->trial.value)) + ".</p>\n";
  }
  html += "<h2>Value by trial</h2>\n<p>Dots: completed trials; red line: best so far.</p>\n" +
          svg_plot(study.direction, trials);
  html += "<h2>Trials</h2>\n<table>\n<tr><th>trial</th><th>state</th><th>value</th>";
  for (const ParamSpec& spec : space.params()) html += "<th>" + html_escape(spec.name) + "</th>";
  html += "<th>duration (s)</th><th>message</th></tr>\n";
  for (const StoredTrial& t : trials) {
    html += std::string(&t == best ? "<tr class=\"best\">" : "<tr>") + "<td>" +
            std::to_string(t.trial.number) + "</td><td>" + std::string(to_string(t.trial.state)) +
            "</td><td>" + html_escape(value_text(t.trial)) + "</td>";
    for (const ParamSpec& spec : space.params()) {
      html += "<td>" + html_escape(param_text(t.trial, spec.name)) + "</td>";
    }
    html += "<td>" + duration_text(t) + "</td><td class=\"msg\">" + html_escape(t.message) +
            "</td></tr>\n";
  }
  html += "</table>\n</body>\n</html>\n";
  return html;
}

void write_study_outputs(const std::filesystem::path& dir, const StudyRecord& study,
                         const SearchSpace& space, const std::vector<StoredTrial>& trials) {
  ensure_directory(dir);
  write_file_atomic(dir / "trials.csv", trials_csv(space, trials));
  write_file_atomic(dir / "history.html", history_html(study, space, trials));
  if (const StoredTrial* best = best_of(study.direction, trials)) {
    write_file_atomic(dir / "best_params.json", best_params_json(study, best->trial));
  } else {
    std::filesystem::remove(dir / "best_params.json");
  }
}

}  // namespace pixelrec::hpo
