#include "eval/eval_result.h"

#include <charconv>
#include <cmath>

#include "core/errors.h"
#include "core/files.h"
#include "data/csv.h"

namespace pixelrec::eval {

namespace {

nlohmann::ordered_json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
}

}  // namespace

nlohmann::ordered_json result_to_json(const EvalResult& r, const ResultMeta& meta,
                                      const std::vector<std::pair<std::string, PairedTest>>* vs,
                                      const std::string& baseline_name) {
  nlohmann::ordered_json j;
  j["recommender"] = r.recommender;
  j["task"] = r.task;
  j["part"] = r.part;
  j["split"] = meta.split;
  j["seed"] = meta.seed;
  j["config_fingerprint"] = meta.config_fingerprint;
  j["model"] = meta.model;
  j["numeric_source"] = meta.numeric_source;
  j["users_evaluated"] = r.users.size();
  j["skipped"] = nlohmann::ordered_json::object();
  for (const auto& [reason, count] : r.skipped) j["skipped"][reason] = count;
  j["candidates"] = {{"min", r.candidates_per_user_min}, {"max", r.candidates_per_user_max}};
  j["masking"] = {{"removed", r.masked_parts}};
  if (!r.negatives_exclude_parts.empty())
    j["masking"]["negatives_exclude"] = r.negatives_exclude_parts;
  j["ties"] = {{"order", "seeded per-user pseudo-random (hash of seed, user, item)"},
               {"seed", r.tie_seed}};
  j["metrics"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : r.metrics) j["metrics"][name] = number_or_null(value);
  j["timings"] = {
      {"scoring_seconds", r.seconds_scoring},
      {"total_seconds", r.seconds_total},
      {"pairs_per_second", r.seconds_scoring > 0 ? r.pairs_scored / r.seconds_scoring : 0.0}};
  if (!r.notes.empty()) j["notes"] = r.notes;
  if (vs != nullptr) {
    nlohmann::ordered_json tests = nlohmann::ordered_json::object();
    for (const auto& [name, test] : *vs)
      tests[name] = {{"n", test.n},
                     {"mean_diff", number_or_null(test.mean_diff)},
                     {"t", number_or_null(test.t_statistic)},
                     {"t_p", number_or_null(test.t_p_value)},
                     {"wilcoxon", number_or_null(test.wilcoxon_statistic)},
                     {"wilcoxon_p", number_or_null(test.wilcoxon_p_value)}};
    j["significance"] = {{"baseline", baseline_name}, {"metrics", std::move(tests)}};
  }
  return j;
}

void write_result_json(const std::filesystem::path& path, const nlohmann::ordered_json& j) {
  ensure_parent_directory(path);
  write_file_atomic(path, j.dump(2) + "\n");
}

void write_per_user_csv(const std::filesystem::path& path, const EvalResult& r,
                        const SplitData& split) {
  const size_t width = r.per_user_names.size();
  PIXELREC_CHECK(r.per_user.size() == r.users.size() * width, "per-user table has the wrong size");
  ensure_parent_directory(path);
  write_stream_atomic(path, [&](std::ostream& os) {
    CsvWriter writer(os);
    std::vector<std::string> row{"user_id"};
    row.insert(row.end(), r.per_user_names.begin(), r.per_user_names.end());
    writer.write_row(row);
    char text[32];
    for (size_t u = 0; u < r.users.size(); ++u) {
      row[0] = split.user_id(r.users[u]);
      for (size_t m = 0; m < width; ++m) {
        const char* end = std::to_chars(text, text + sizeof text, r.per_user[u * width + m]).ptr;
        row[m + 1].assign(text, size_t(end - text));  // reuses the row's capacity
      }
      writer.write_row(row);
    }
  });
}

std::vector<std::pair<std::string, PairedTest>> compare_per_user(const EvalResult& model,
                                                                 const EvalResult& baseline) {
  if (model.task != baseline.task || model.part != baseline.part)
    throw Error("cannot compare " + model.recommender + " (" + model.task + " task on " +
                model.part + ") with " + baseline.recommender + " (" + baseline.task + " task on " +
                baseline.part + "); evaluate both with the same task and part");
  // Rows of the users both results evaluated (users are sorted in both).
  std::vector<size_t> model_rows, baseline_rows;
  for (size_t i = 0, j = 0; i < model.users.size() && j < baseline.users.size();) {
    if (model.users[i] < baseline.users[j]) {
      ++i;
    } else if (baseline.users[j] < model.users[i]) {
      ++j;
    } else {
      model_rows.push_back(i++);
      baseline_rows.push_back(j++);
    }
  }
  if (model_rows.empty())
    throw Error("the results of " + model.recommender + " and " + baseline.recommender +
                " share no evaluated user; evaluate both on the same split");
  const size_t model_width = model.per_user_names.size();
  const size_t baseline_width = baseline.per_user_names.size();
  std::vector<std::pair<std::string, PairedTest>> tests;
  std::vector<double> a(model_rows.size()), b(model_rows.size());
  for (size_t m = 0; m < model_width; ++m) {
    const std::string& name = model.per_user_names[m];
    size_t bm = 0;
    while (bm < baseline_width && baseline.per_user_names[bm] != name) ++bm;
    if (bm == baseline_width) continue;
    for (size_t i = 0; i < model_rows.size(); ++i) {
      a[i] = model.per_user[model_rows[i] * model_width + m];
      b[i] = baseline.per_user[baseline_rows[i] * baseline_width + bm];
    }
    tests.emplace_back(name, paired_tests(a, b));
  }
  return tests;
}

}  // namespace pixelrec::eval
