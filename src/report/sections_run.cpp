// Run sections: the summary (configuration, fingerprints, epochs, best epoch) and the learning
// curves from metrics.jsonl.
#include <algorithm>
#include <cmath>
#include <set>

#include "core/strings.h"
#include "report/html.h"
#include "report/page.h"
#include "report/report.h"

namespace pixelrec::report {

namespace {

std::string row(const std::string& key, const std::string& value_html) {
  return "<tr><th>" + html_escape(key) + "</th><td>" + value_html + "</td></tr>\n";
}

bool is_val_ranking_metric(const std::string& name) {
  if (!starts_with(name, "val_")) return false;
  const std::string base =
      name.substr(4, name.find('@') == std::string::npos ? std::string::npos : name.find('@') - 4);
  return base == "ndcg" || base == "recall" || base == "hit_rate" || base == "mrr";
}

bool is_training_loss(const std::string& name) {
  return name.find("loss") != std::string::npos ||
         (starts_with(name, "train_") && name.find("per_second") == std::string::npos);
}

ChartSpec epoch_chart(const MetricsHistory& h, const std::string& title, const std::string& y,
                      bool (*select)(const std::string&)) {
  ChartSpec chart;
  chart.type = "line";
  chart.title = title;
  chart.x_title = "epoch";
  chart.y_title = y;
  for (int64_t e : h.epochs) chart.labels.push_back(std::to_string(e));
  std::vector<size_t> chosen;
  for (size_t i = 0; i < h.names.size(); ++i)
    if (select(h.names[i])) chosen.push_back(i);
  // K = 10 first: with more than kVisibleSeries names, the others start hidden.
  std::stable_partition(chosen.begin(), chosen.end(),
                        [&](size_t i) { return ends_with(h.names[i], "@10"); });
  for (size_t i : chosen)
    chart.series.push_back({h.names[i], h.columns[i], {}, palette(chart.series.size())});
  return chart;
}

}  // namespace

void add_run_summary(Page& page, const RunFolder& run, const std::string& id) {
  if (!run.config && !run.history) {
    page.omit("Run summary (" + run.name + ")", "config.yaml and metrics.jsonl absent or skipped");
    return;
  }
  page.begin_section(id, "Run summary: " + run.name);
  std::string table = "<table class=\"kv\"><tbody>\n";
  table += row("run", html_escape(run.name));
  table += row("folder", "<code>" + html_escape(run.dir.string()) + "</code>");
  std::set<std::string> eval_fingerprints;
  for (const EvalResultFile& r : run.results) {
    if (!r.config_fingerprint.empty()) eval_fingerprints.insert(r.config_fingerprint);
  }
  if (run.config) {
    std::string fp = "<code>" + html_escape(run.config->fingerprint) + "</code>";
    for (const std::string& other : eval_fingerprints) {
      fp += other == run.config->fingerprint
                ? " (matches the evaluation results)"
                : "; evaluation results record <code>" + html_escape(other) +
                      "</code>: they ran under another configuration";
    }
    table += row("config fingerprint", fp);
    for (const auto& [key, value] : run.config->key_values) {
      table += row(key, "<code>" + html_escape(value) + "</code>");
    }
  } else if (!eval_fingerprints.empty()) {
    table += row("config fingerprint (evaluation)",
                 "<code>" +
                     html_escape(join({eval_fingerprints.begin(), eval_fingerprints.end()}, ", ")) +
                     "</code>");
  }
  if (run.history && !run.history->epochs.empty()) {
    const MetricsHistory& h = *run.history;
    table += row("epochs", std::to_string(h.epochs.size()) + " (epoch " +
                               std::to_string(h.epochs.front()) + " to " +
                               std::to_string(h.epochs.back()) + ", numbered from 0 as in " +
                               "metrics.jsonl)");
    std::string metric = run.config ? run.config->early_stopping_metric : "";
    if (metric.empty()) metric = "val_loss";  // training.early_stopping_metric's default
    const std::string direction = run.config ? run.config->early_stopping_direction : "auto";
    const bool minimize = direction == "minimize" ||
                          (direction == "auto" && metric.find("loss") != std::string::npos);
    if (const auto best = best_row(h, metric, minimize)) {
      table += row("best epoch", std::to_string(h.epochs[*best]) + " (" + html_escape(metric) +
                                     " = " + format_number((*h.column(metric))[*best]) + ", " +
                                     (minimize ? "minimized" : "maximized") + ")");
    } else {
      table += row("best epoch", "unknown: metrics.jsonl has no value of " + html_escape(metric));
    }
    if (const auto* seconds = h.column("epoch_seconds")) {
      double total = 0;
      for (double s : *seconds) total += std::isnan(s) ? 0 : s;
      table += row("training time", format_number(total) + " s (sum of epoch_seconds)");
    }
  }
  table += row("evaluation results", std::to_string(run.results.size()) + " file(s) in eval/");
  page.html(table + "</tbody></table>\n");
  page.end_section();
}

void add_learning_curves(Page& page, const RunFolder& run, const std::string& id) {
  if (!run.history || run.history->epochs.empty()) {
    page.omit("Learning curves (" + run.name + ")", "metrics.jsonl absent, skipped or empty");
    return;
  }
  const MetricsHistory& h = *run.history;
  page.begin_section(id, "Learning curves: " + run.name);
  if (!h.note.empty())
    page.html("<p class=\"note\">metrics.jsonl: " + html_escape(h.note) + "</p>\n");
  const ChartSpec losses = epoch_chart(h, "Losses by epoch", "loss", is_training_loss);
  if (!losses.series.empty()) page.chart(losses);
  const ChartSpec ranking =
      epoch_chart(h, "Validation ranking metrics by epoch", "value", is_val_ranking_metric);
  if (!ranking.series.empty()) page.chart(ranking);
  const ChartSpec lr = epoch_chart(h, "Learning rate by epoch", "learning rate",
                                   [](const std::string& name) { return name == "lr"; });
  if (!lr.series.empty()) page.chart(lr);
  std::vector<std::pair<std::string, std::vector<double>>> rows;
  for (size_t r = 0; r < h.epochs.size(); ++r) {
    std::vector<double> values;
    for (const auto& column : h.columns) values.push_back(column[r]);
    rows.emplace_back(std::to_string(h.epochs[r]), std::move(values));
  }
  page.html("<details><summary>Every metric by epoch (" + std::to_string(h.names.size()) +
            " names)</summary>\n" + number_table("epoch", h.names, rows, false) + "</details>\n");
  page.end_section();
}

}  // namespace pixelrec::report
