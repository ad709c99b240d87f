// Evaluation result files: the result JSON (metrics, timings, provenance and optional paired
// significance against a baseline) and the per-user metric CSV used for later comparisons.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/split_data.h"
#include "eval/evaluator.h"
#include "eval/significance.h"

namespace pixelrec::eval {

struct ResultMeta {
  std::string config_fingerprint, split, model;
  uint64_t seed = 0;
  std::string numeric_source = "none";  // features::describe_numeric_source
};

// Keys, in order: recommender, task, part, split, seed, config_fingerprint, model, numeric_source,
// users_evaluated, skipped{reason: count}, candidates{min, max}, masking{removed[] (parts whose
// items were removed from each user's candidates), negatives_exclude[] (sampled task only)},
// ties{order, seed}, metrics{name: value},
// timings{scoring_seconds, total_seconds, pairs_per_second}, then notes[] when there are any and
// significance{baseline, metrics{name: {n, mean_diff, t, t_p, wilcoxon, wilcoxon_p}}} when
// vs_baseline is given. Non-finite numbers (t = ±inf) are written as null.
nlohmann::ordered_json result_to_json(
    const EvalResult& r, const ResultMeta& meta,
    const std::vector<std::pair<std::string, PairedTest>>* vs_baseline = nullptr,
    const std::string& baseline_name = "");

// Writes the JSON (2-space indent) atomically.
void write_result_json(const std::filesystem::path& path, const nlohmann::ordered_json& j);

// user_id,<per-user metric names...>: one row per evaluated user, in user-index order; values
// in shortest round-trip form.
void write_per_user_csv(const std::filesystem::path& path, const EvalResult& r,
                        const SplitData& split);

// Paired tests of every per-user metric the two results share (model's order), on the users
// both evaluated. Throws Error when the results come from different tasks or parts, or share
// no user.
std::vector<std::pair<std::string, PairedTest>> compare_per_user(const EvalResult& model,
                                                                 const EvalResult& baseline);

}  // namespace pixelrec::eval
