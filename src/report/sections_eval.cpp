// Evaluation sections: metric tables with paired significance, metrics by K, and cold-item
// results beside the warm results of the same recommenders.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/strings.h"
#include "report/html.h"
#include "report/page.h"
#include "report/report.h"
#include "report/verdict.h"

namespace pixelrec::report {

namespace {

constexpr double kSignificance = 0.05;

std::string base_name(const std::string& metric) { return metric.substr(0, metric.find('@')); }

std::optional<int> k_of(const std::string& metric) {
  const size_t at = metric.find('@');
  if (at == std::string::npos) return std::nullopt;
  const auto k = parse_int(metric.substr(at + 1));
  return k ? std::optional<int>(static_cast<int>(*k)) : std::nullopt;
}

bool is_accuracy(const std::string& metric) {
  static const std::set<std::string> names = {"precision", "recall", "f1", "hit_rate",
                                              "ndcg",      "map",    "mrr"};
  return names.count(base_name(metric)) > 0;
}

std::string metric_table(const Results& results, const std::vector<std::string>& labels,
                         const std::vector<std::string>& columns) {
  std::vector<std::pair<std::string, std::vector<double>>> rows;
  for (size_t i = 0; i < results.size(); ++i) {
    std::vector<double> values;
    for (const std::string& c : columns) values.push_back(results[i]->metric(c).value_or(NAN));
    rows.emplace_back(labels[i], std::move(values));
  }
  return number_table("recommender", columns, rows, true);
}

// A table of `columns` with the K = 10 metrics (and those without a K) shown and the other
// cut-offs behind a toggle.
std::string k10_first_tables(const Results& results, const std::vector<std::string>& labels,
                             const std::vector<std::string>& columns) {
  std::vector<std::string> first, rest;
  std::set<int> other_ks;
  for (const std::string& c : columns) {
    const auto k = k_of(c);
    if (!k || *k == 10) {
      first.push_back(c);
    } else {
      rest.push_back(c);
      other_ks.insert(*k);
    }
  }
  if (first.empty()) first.swap(rest);  // no K = 10 at all: show what there is
  std::string html = metric_table(results, labels, first);
  if (rest.empty()) return html;
  std::vector<std::string> ks;
  for (int k : other_ks) ks.push_back(std::to_string(k));
  return html + "<details><summary>Other cut-offs (K = " + join(ks, ", ") + ")</summary>\n" +
         metric_table(results, labels, rest) + "</details>\n";
}

// The model first, then the others from best to worst on the task's headline metric, so the
// series a chart shows first are those a reader compares.
Results by_headline(Results group) {
  const std::string metric = headline_metric(group);
  const bool lower = lower_is_better(metric);
  const auto key = [&](const EvalResultFile* r) {
    const double v = r->metric(metric).value_or(NAN);
    return std::isnan(v) ? -INFINITY : (lower ? -v : v);
  };
  std::stable_sort(group.begin(), group.end(), [&](const auto* a, const auto* b) {
    const bool ma = a->recommender == kModelRecommender, mb = b->recommender == kModelRecommender;
    if (ma != mb) return ma;
    return key(a) > key(b);
  });
  return group;
}

// "popularity", or "popularity [run]" when the results come from several runs.
std::vector<std::string> row_labels(const Results& results) {
  std::set<std::string> runs;
  for (const EvalResultFile* r : results) runs.insert(r->run);
  std::vector<std::string> labels;
  for (const EvalResultFile* r : results) {
    labels.push_back(runs.size() > 1 ? r->recommender + " [" + r->run + "]" : r->recommender);
  }
  return labels;
}

std::vector<std::string> metric_union(const Results& results, bool accuracy) {
  std::vector<std::string> names;
  for (const EvalResultFile* r : results) {
    for (const auto& [name, value] : r->metrics) {
      if (is_accuracy(name) == accuracy &&
          std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
  }
  return names;
}

std::string p_cell(double p) { return number_cell(p, p < kSignificance ? "sig" : ""); }

std::string significance_table(const EvalResultFile& r, const std::string& label) {
  size_t both = 0;
  for (const auto& [metric, s] : r.significance)
    both += s.t_p < kSignificance && s.wilcoxon_p < kSignificance;
  std::string html =
      "<details><summary>" + html_escape(label) + " against " + html_escape(r.baseline) +
      " (paired over the users both evaluated): " + std::to_string(both) + " of " +
      std::to_string(r.significance.size()) +
      " metrics differ at p &lt; 0.05 in both tests</summary>\n<div class=\"scroll\">"
      "<table class=\"data\"><thead><tr><th>metric</th><th>n</th><th>mean "
      "difference</th><th>t</th><th>t-test p</th><th>Wilcoxon W</th><th>Wilcoxon "
      "p</th></tr></thead><tbody>\n";
  for (const auto& [metric, s] : r.significance) {
    html += "<tr><th>" + html_escape(metric) + "</th>" + number_cell(s.n) +
            number_cell(s.mean_diff) + number_cell(s.t) + p_cell(s.t_p) + number_cell(s.wilcoxon) +
            p_cell(s.wilcoxon_p) + "</tr>\n";
  }
  return html + "</tbody></table></div></details>\n";
}

std::string provenance_table(const Results& results, const std::vector<std::string>& labels) {
  std::string html =
      "<details><summary>Result files</summary><div class=\"scroll\"><table class=\"data\">"
      "<thead><tr><th>recommender</th><th>users evaluated</th><th>split</th><th>config "
      "fingerprint</th><th>file</th><th>notes</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const EvalResultFile& r = *results[i];
    std::vector<std::string> notes;
    for (const std::string& n : r.notes) notes.push_back(html_escape(n));
    html += "<tr><th>" + html_escape(labels[i]) + "</th>" + number_cell(r.users_evaluated) +
            "<td>" + html_escape(r.split) + "</td><td><code>" + html_escape(r.config_fingerprint) +
            "</code></td><td><code>" + html_escape(r.path.string()) + "</code></td><td>" +
            join(notes, "<br>") + "</td></tr>\n";
  }
  return html + "</tbody></table></div></details>\n";
}

std::vector<int> ks_of(const Results& results, const std::string& family) {
  std::set<int> ks;
  for (const EvalResultFile* r : results) {
    for (const auto& [name, value] : r->metrics) {
      if (base_name(name) == family) {
        if (const auto k = k_of(name)) ks.insert(*k);
      }
    }
  }
  return {ks.begin(), ks.end()};
}

// The warm result of `cold`'s recommender: full before sampled, same run before another run.
const EvalResultFile* warm_partner(const EvalResultFile& cold, const Results& results) {
  const EvalResultFile* best = nullptr;
  int best_rank = 100;
  for (const EvalResultFile* r : results) {
    if (r->recommender != cold.recommender || r->part != cold.part) continue;
    int rank;
    if (r->task == "full") {
      rank = 0;
    } else if (r->task == "sampled" || r->task == "retrieval") {
      rank = 2;
    } else {
      continue;
    }
    if (r->run != cold.run) ++rank;
    if (rank < best_rank) best = r, best_rank = rank;
  }
  return best;
}

}  // namespace

void add_metric_tables(Page& page, const Results& results) {
  if (results.empty()) {
    page.omit("Metric tables", "no readable eval/*.json result in any run folder");
    return;
  }
  page.begin_section("metrics", "Metric tables");
  page.html(
      "<p>Each table compares every recommender evaluated on one task; the best value of each "
      "column is highlighted (the lowest for Gini, the highest otherwise). Hover a number for "
      "its exact value. Significance: p-values below 0.05 are marked.</p>\n");
  for (const auto& [task, group] : group_by_task(results)) {
    const std::vector<std::string> labels = row_labels(group);
    page.html("<h3>Task " + html_escape(task) + "</h3>\n");
    const auto accuracy = metric_union(group, true);
    if (!accuracy.empty())
      page.html("<h4>Accuracy</h4>\n" + k10_first_tables(group, labels, accuracy));
    const auto beyond = metric_union(group, false);
    if (!beyond.empty())
      page.html("<h4>Beyond accuracy</h4>\n" + k10_first_tables(group, labels, beyond));
    if (std::any_of(group.begin(), group.end(), [](auto* r) { return !r->significance.empty(); })) {
      page.html("<h4>Paired significance (t-test and Wilcoxon, from the result files)</h4>\n");
      for (size_t i = 0; i < group.size(); ++i) {
        if (!group[i]->significance.empty()) page.html(significance_table(*group[i], labels[i]));
      }
    }
    page.html(provenance_table(group, labels));
  }
  page.end_section();
}

void add_metrics_by_k(Page& page, const Results& results) {
  static const std::vector<std::string> families = {"ndcg", "recall", "hit_rate"};
  bool any = false;
  for (const auto& [task, unordered] : group_by_task(results)) {
    const Results group = by_headline(unordered);
    const std::vector<std::string> labels = row_labels(group);
    for (const std::string& family : families) {
      const std::vector<int> ks = ks_of(group, family);
      if (ks.empty()) continue;
      if (!any) page.begin_section("metrics-by-k", "Metrics by K");
      any = true;
      ChartSpec chart;
      chart.type = "line";
      chart.title = family + "@K, task " + task;
      chart.x_title = "K";
      chart.y_title = family;
      for (int k : ks) chart.labels.push_back(std::to_string(k));
      for (size_t i = 0; i < group.size(); ++i) {
        ChartSeries s{labels[i], {}, {}, palette(i)};
        for (int k : ks) {
          s.y.push_back(group[i]->metric(family + "@" + std::to_string(k)).value_or(NAN));
        }
        chart.series.push_back(std::move(s));
      }
      page.chart(chart);
    }
  }
  if (any) {
    page.end_section();
  } else {
    page.omit("Metrics by K", "no result holds ndcg@K, recall@K or hit_rate@K");
  }
}

void add_cold_vs_warm(Page& page, const Results& results) {
  Results cold;
  for (const EvalResultFile* r : results) {
    if (r->task == "cold_item") cold.push_back(r);
  }
  if (cold.empty()) {
    page.omit("Cold vs warm items", "no cold_item result among the folders");
    return;
  }
  const std::vector<std::string> labels = row_labels(cold);
  std::vector<std::string> metrics;
  for (const char* family : {"ndcg", "recall", "hit_rate"}) {
    for (int k : ks_of(cold, family)) metrics.push_back(family + ("@" + std::to_string(k)));
  }
  if (std::any_of(cold.begin(), cold.end(), [](auto* r) { return r->metric("mrr").has_value(); })) {
    metrics.push_back("mrr");
  }
  page.begin_section("cold-vs-warm", "Cold vs warm items");
  page.html(
      "<p>cold_item ranks only the items absent from training, for the users who have one among "
      "their test items; the warm result (task full, else sampled) ranks the whole catalogue. "
      "The candidate sets differ, so read the columns side by side, not as a difference of the "
      "same experiment.</p>\n");
  std::vector<std::string> columns;
  for (const std::string& m : metrics) {
    columns.push_back(m + " warm");
    columns.push_back(m + " cold");
  }
  std::vector<std::pair<std::string, std::vector<double>>> rows;
  std::vector<const EvalResultFile*> partners;
  for (size_t i = 0; i < cold.size(); ++i) {
    const EvalResultFile* warm = warm_partner(*cold[i], results);
    partners.push_back(warm);
    std::vector<double> values;
    for (const std::string& m : metrics) {
      values.push_back(warm ? warm->metric(m).value_or(NAN) : NAN);
      values.push_back(cold[i]->metric(m).value_or(NAN));
    }
    const std::string source = warm ? " (warm: " + task_label(*warm) +
                                          (warm->run == cold[i]->run ? "" : ", run " + warm->run) +
                                          ")"
                                    : " (no warm result)";
    rows.emplace_back(labels[i] + source, std::move(values));
  }
  page.html(number_table("recommender", columns, rows, true));
  const std::vector<int> ndcg_ks = ks_of(cold, "ndcg");
  if (!ndcg_ks.empty()) {
    const std::string metric = "ndcg@" + std::to_string(ndcg_ks.back());
    ChartSpec chart;
    chart.type = "bar";
    chart.title = metric + ": warm vs cold items";
    chart.x_title = "recommender";
    chart.y_title = metric;
    chart.labels = labels;
    ChartSeries warm{"warm", {}, {}, palette(0)}, cold_series{"cold", {}, {}, palette(1)};
    for (size_t i = 0; i < cold.size(); ++i) {
      warm.y.push_back(partners[i] ? partners[i]->metric(metric).value_or(NAN) : NAN);
      cold_series.y.push_back(cold[i]->metric(metric).value_or(NAN));
    }
    chart.series = {warm, cold_series};
    page.chart(chart);
  }
  page.end_section();
}

}  // namespace pixelrec::report
