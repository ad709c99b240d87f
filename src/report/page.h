// The report page under construction: HTML sections, the charts they declare (drawn by the
// inline script from one JSON block) and the sections that were left out, with the reason.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace pixelrec::report {

// One line (or bar group) of a chart. `y` follows ChartSpec::labels, or `x` when given (points).
struct ChartSeries {
  std::string label;
  std::vector<double> y;  // NaN: no point (a gap)
  std::vector<double> x;  // empty unless the chart is a scatter
  std::string color;      // CSS colour
  bool stepped = false;   // a step line (best value so far)
  bool points_only = false;
};

// Series a chart shows at first; the rest start hidden (a legend click shows each), so a chart
// with a dozen recommenders stays readable. Builders put the series that matter most first.
inline constexpr size_t kVisibleSeries = 6;

struct ChartSpec {
  std::string type;  // line | bar | scatter
  std::string title, x_title, y_title;
  std::vector<std::string> labels;  // x categories (line, bar)
  std::vector<ChartSeries> series;
  bool horizontal = false;  // bar charts: bars along x
};

class Page {
 public:
  void begin_section(const std::string& id, const std::string& title);
  void end_section();
  void html(const std::string& text) { body_ += text; }
  // A canvas for `chart` followed by a <details> table of its numbers. Series after the first
  // kVisibleSeries start hidden, and a note under the chart says so.
  void chart(const ChartSpec& chart);
  void omit(const std::string& section, const std::string& reason);

  const std::string& body() const { return body_; }
  const std::vector<std::pair<std::string, std::string>>& sections() const { return sections_; }
  const std::vector<std::pair<std::string, std::string>>& omitted() const { return omitted_; }
  int chart_count() const { return static_cast<int>(charts_.size()); }
  nlohmann::json charts_json() const { return charts_; }

 private:
  std::string body_;
  nlohmann::json charts_ = nlohmann::json::array();
  std::vector<std::pair<std::string, std::string>> sections_;  // (id, title)
  std::vector<std::pair<std::string, std::string>> omitted_;   // (section, reason)
};

// Colour i of a fixed 10-colour palette (Tableau 10).
const std::string& palette(size_t i);

// A data table: header cells, then rows of (label, values); the best value per column gets
// class "best" when `best_per_column` (direction from lower_is_better(column name)).
std::string number_table(const std::string& corner, const std::vector<std::string>& columns,
                         const std::vector<std::pair<std::string, std::vector<double>>>& rows,
                         bool best_per_column);

// Section builders (one file each).
struct RunFolder;
struct StudyFolder;
struct EvalResultFile;
void add_summary(Page& page, const std::vector<const EvalResultFile*>& results,
                 const std::vector<StudyFolder>& studies);
void add_run_summary(Page& page, const RunFolder& run, const std::string& id);
void add_learning_curves(Page& page, const RunFolder& run, const std::string& id);
void add_metric_tables(Page& page, const std::vector<const EvalResultFile*>& results);
void add_metrics_by_k(Page& page, const std::vector<const EvalResultFile*>& results);
void add_cold_vs_warm(Page& page, const std::vector<const EvalResultFile*>& results);
void add_search_history(Page& page, const StudyFolder& study, const std::string& id);
void add_param_importance(Page& page, const StudyFolder& study, const std::string& id);

}  // namespace pixelrec::report
