// Who won: per evaluation task, the best recommender on the headline metric, the model against
// the best baseline (with a paired significance test over the users both evaluated) and whether
// the model's numeric features could leak. The report's summary and the demo's last line say it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report/run_inputs.h"

namespace pixelrec::report {

using Results = std::vector<const EvalResultFile*>;

// The model's recommender name in result files; every other name is a baseline.
inline constexpr const char* kModelRecommender = "multimodal";

// "full", or "full (val)" for a part other than test.
std::string task_label(const EvalResultFile& r);
// (task label, results) groups in first-seen order.
std::vector<std::pair<std::string, Results>> group_by_task(const Results& results);

// ndcg@10 when some result has it, else the first ndcg@K, else the first metric; "" if none.
std::string headline_metric(const Results& results);

struct Verdict {
  std::string task, metric;
  const EvalResultFile* best = nullptr;            // best value of `metric`
  const EvalResultFile* model = nullptr;           // the model's result, if evaluated
  const EvalResultFile* best_baseline = nullptr;   // best non-model result
  std::optional<PairedSignificance> significance;  // model against best_baseline on `metric`
  std::string significance_source;  // "per-user files" | "result file" | why there is none
};

// `group` holds one task's results. Significance comes from the two results' per-user CSVs
// (<result>.per_user.csv) when both exist, else from the model's result file when its baseline
// is the best one.
Verdict verdict_for(const std::string& task, const Results& group);

// One sentence, e.g. "multimodal wins task full: ndcg@10 = 0.1251, 2.01x popularity, the best
// of 7 baselines (paired t-test p = 1.5e-51 over 2993 users)."
std::string verdict_sentence(const Verdict& v, size_t baselines);

// "leak-free", "can leak", "no numeric features" or "not recorded", from a result's
// numeric_source line.
std::string numeric_source_flag(const EvalResultFile& r);

}  // namespace pixelrec::report
