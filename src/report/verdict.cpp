#include "report/verdict.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/strings.h"
#include "data/csv.h"
#include "eval/significance.h"
#include "report/html.h"

namespace pixelrec::report {
namespace {

namespace fs = std::filesystem;

bool is_model(const EvalResultFile& r) { return r.recommender == kModelRecommender; }

// True when `a` beats `b` on `metric` (a missing value never wins).
bool better(const EvalResultFile& a, const EvalResultFile* b, const std::string& metric) {
  const double va = a.metric(metric).value_or(NAN);
  if (std::isnan(va)) return false;
  if (b == nullptr) return true;
  const double vb = b->metric(metric).value_or(NAN);
  if (std::isnan(vb)) return true;
  return lower_is_better(metric) ? va < vb : va > vb;
}

fs::path per_user_path(const EvalResultFile& r) {
  fs::path path = r.path;
  return path.replace_extension(".per_user.csv");
}

// user id -> the value of `metric` in a per-user CSV; nullopt when the file or column is absent.
std::optional<std::unordered_map<std::string, double>> per_user_values(const fs::path& path,
                                                                       const std::string& metric) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  CsvReader reader = CsvReader::from_file(path);
  const auto user = reader.column("user_id");
  const auto column = reader.column(metric);
  if (!user || !column) return std::nullopt;
  std::unordered_map<std::string, double> values;
  CsvRow row;
  while (reader.next(row)) {
    if (!row.error.empty() || row.fields.size() <= std::max(*user, *column)) return std::nullopt;
    const auto value = parse_double(row.fields[*column]);
    if (!value) return std::nullopt;
    values.emplace(row.fields[*user], *value);
  }
  return values;
}

std::optional<PairedSignificance> per_user_significance(const EvalResultFile& model,
                                                        const EvalResultFile& baseline,
                                                        const std::string& metric) {
  const auto a = per_user_values(per_user_path(model), metric);
  const auto b = per_user_values(per_user_path(baseline), metric);
  if (!a || !b) return std::nullopt;
  std::vector<double> x, y;
  for (const auto& [user, value] : *a) {
    if (const auto it = b->find(user); it != b->end()) {
      x.push_back(value);
      y.push_back(it->second);
    }
  }
  if (x.size() < 2) return std::nullopt;
  const eval::PairedTest t = eval::paired_tests(x, y);
  return PairedSignificance{double(t.n), t.mean_diff,          t.t_statistic,
                            t.t_p_value, t.wilcoxon_statistic, t.wilcoxon_p_value};
}

}  // namespace

std::string task_label(const EvalResultFile& r) {
  return r.task + (r.part.empty() || r.part == "test" ? "" : " (" + r.part + ")");
}

std::vector<std::pair<std::string, Results>> group_by_task(const Results& results) {
  std::vector<std::pair<std::string, Results>> groups;
  for (const EvalResultFile* r : results) {
    const std::string key = task_label(*r);
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) it = groups.insert(groups.end(), {key, {}});
    it->second.push_back(r);
  }
  return groups;
}

std::string headline_metric(const Results& results) {
  std::string first, first_ndcg;
  for (const EvalResultFile* r : results) {
    for (const auto& [name, value] : r->metrics) {
      if (name == "ndcg@10") return name;
      if (first.empty()) first = name;
      if (first_ndcg.empty() && name.rfind("ndcg@", 0) == 0) first_ndcg = name;
    }
  }
  return first_ndcg.empty() ? first : first_ndcg;
}

Verdict verdict_for(const std::string& task, const Results& group) {
  Verdict v;
  v.task = task;
  v.metric = headline_metric(group);
  for (const EvalResultFile* r : group) {
    if (better(*r, v.best, v.metric)) v.best = r;
    if (is_model(*r) && better(*r, v.model, v.metric)) v.model = r;
    if (!is_model(*r) && better(*r, v.best_baseline, v.metric)) v.best_baseline = r;
  }
  if (v.model == nullptr || v.best_baseline == nullptr) {
    v.significance_source = v.model == nullptr ? "the model was not evaluated on this task"
                                               : "no baseline was evaluated on this task";
    return v;
  }
  if ((v.significance = per_user_significance(*v.model, *v.best_baseline, v.metric))) {
    v.significance_source = "per-user files";
    return v;
  }
  if (v.model->baseline == v.best_baseline->recommender) {
    for (const auto& [metric, test] : v.model->significance) {
      if (metric == v.metric) {
        v.significance = test;
        v.significance_source = "result file";
        return v;
      }
    }
  }
  v.significance_source = "not computed: no per-user files for " + v.model->recommender + " and " +
                          v.best_baseline->recommender;
  return v;
}

std::string verdict_sentence(const Verdict& v, size_t baselines) {
  if (v.best == nullptr) return "Task " + v.task + ": no result holds " + v.metric + ".";
  const double best = v.best->metric(v.metric).value_or(NAN);
  std::string s =
      v.best->recommender + " wins task " + v.task + ": " + v.metric + " = " + format_number(best);
  if (v.model == nullptr || v.best_baseline == nullptr) return s + ".";
  const double model = v.model->metric(v.metric).value_or(NAN);
  const double base = v.best_baseline->metric(v.metric).value_or(NAN);
  const std::string of =
      "the best of " + std::to_string(baselines) + (baselines == 1 ? " baseline" : " baselines");
  if (v.best == v.model) {
    s += ", " + format_number(model / base) + "x " + v.best_baseline->recommender + ", " + of;
  } else {
    s += "; the model reaches " + format_number(model) + ", " + format_number(model / base) + "x " +
         v.best_baseline->recommender + " (" + of + ")";
  }
  if (v.significance)
    s += " (paired t-test p = " + format_number(v.significance->t_p) + " over " +
         format_number(v.significance->n) + " users)";
  return s + ".";
}

std::string numeric_source_flag(const EvalResultFile& r) {
  if (r.numeric_source.empty()) return "not recorded";
  if (r.numeric_source == "none") return "no numeric features";
  if (r.numeric_source.rfind("train_interactions", 0) == 0) return "leak-free";
  return "can leak";
}

}  // namespace pixelrec::report
