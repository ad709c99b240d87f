// The summary that opens the report: per task, who won and by how much (the model against the
// best baseline, with a paired significance test), whether the model's numeric features could
// leak, and each search's best trial.
#include <cmath>
#include <map>

#include "report/html.h"
#include "report/page.h"
#include "report/report.h"
#include "report/verdict.h"

namespace pixelrec::report {
namespace {

std::string value_cell(const EvalResultFile* r, const std::string& metric) {
  if (r == nullptr) return "<td>—</td>";
  return "<td>" + html_escape(r->recommender) + " " +
         format_number(r->metric(metric).value_or(NAN)) + "</td>";
}

std::string verdict_row(const Verdict& v) {
  std::string row = "<tr><th>" + html_escape(v.task) + "</th><td>" + html_escape(v.metric) +
                    "</td>" + value_cell(v.best, v.metric) + value_cell(v.model, v.metric) +
                    value_cell(v.best_baseline, v.metric);
  if (v.model != nullptr && v.best_baseline != nullptr) {
    row += number_cell(v.model->metric(v.metric).value_or(NAN) /
                       v.best_baseline->metric(v.metric).value_or(NAN));
  } else {
    row += "<td>—</td>";
  }
  if (v.significance) {
    const double p = v.significance->t_p, w = v.significance->wilcoxon_p;
    row += number_cell(p, p < 0.05 ? "sig" : "") + number_cell(w, w < 0.05 ? "sig" : "");
  } else {
    row += "<td colspan=\"2\">" + html_escape(v.significance_source) + "</td>";
  }
  row += "<td>" + html_escape(v.model ? numeric_source_flag(*v.model) : "—") + "</td></tr>\n";
  return row;
}

std::string study_sentence(const StudyFolder& study) {
  std::map<std::string, int> states;
  for (const StudyTrial& t : study.trials->trials) ++states[t.state];
  std::string counts;
  for (const auto& [state, n] : states)
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + state;
  std::string s = "Search " + study.name + ": " + std::to_string(study.trials->trials.size()) +
                  " trials (" + counts + ")";
  if (study.best)
    s += "; the best is trial " + std::to_string(study.best->trial) + " with " +
         format_number(study.best->value) + " (" + study.best->direction + "d)";
  return s + ".";
}

}  // namespace

void add_summary(Page& page, const std::vector<const EvalResultFile*>& results,
                 const std::vector<StudyFolder>& studies) {
  bool any_study = false;
  for (const StudyFolder& s : studies) any_study = any_study || s.trials.has_value();
  if (results.empty() && !any_study) {
    page.omit("Summary", "no evaluation result and no search trials among the folders");
    return;
  }
  page.begin_section("summary", "Summary");
  std::string sentences, rows;
  for (const auto& [task, group] : group_by_task(results)) {
    size_t baselines = 0;
    for (const EvalResultFile* r : group) baselines += r->recommender != kModelRecommender;
    const Verdict v = verdict_for(task, group);
    sentences += "<li>" + html_escape(verdict_sentence(v, baselines)) + "</li>\n";
    rows += verdict_row(v);
  }
  for (const StudyFolder& study : studies)
    if (study.trials) sentences += "<li>" + html_escape(study_sentence(study)) + "</li>\n";
  page.html("<ul class=\"verdict\">\n" + sentences + "</ul>\n");
  if (!rows.empty()) {
    page.html(
        "<div class=\"scroll\"><table class=\"data\"><thead><tr><th>task</th><th>metric</th>"
        "<th>best</th><th>model</th><th>best baseline</th><th>model / best baseline</th>"
        "<th>t-test p</th><th>Wilcoxon p</th><th>model's numeric features</th></tr></thead>"
        "<tbody>\n" +
        rows +
        "</tbody></table></div>\n<p>p-values: paired over the users both results evaluated "
        "(from their per-user files, else the model's result file); below 0.05 is marked. Numeric "
        "features \"can leak\" when "
        "they are the catalogue's lifetime counters (collected after the interactions); "
        "\"leak-free\" when counted on the training split only.</p>\n");
  }
  page.end_section();
}

}  // namespace pixelrec::report
