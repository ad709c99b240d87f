#include "report/study_inputs.h"

#include <array>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/csv.h"

namespace pixelrec::report {

namespace fs = std::filesystem;

namespace {

constexpr std::array<const char*, 6> kStates = {"WAITING", "RUNNING", "COMPLETE",
                                                "PRUNED",  "FAILED",  "STALE"};
constexpr std::string_view kParamPrefix = "params_";

}  // namespace

StudyTrials read_trials_csv(const fs::path& path) {
  CsvReader reader = CsvReader::from_file(path);
  const size_t number_col = reader.require_column("number");
  const size_t state_col = reader.require_column("state");
  const size_t value_col = reader.require_column("value");
  const auto duration_col = reader.column("duration_s");
  const auto message_col = reader.column("message");
  StudyTrials study;
  std::vector<size_t> param_cols;
  for (size_t i = 0; i < reader.header().size(); ++i) {
    if (starts_with(reader.header()[i], kParamPrefix)) {
      study.param_names.push_back(reader.header()[i].substr(kParamPrefix.size()));
      param_cols.push_back(i);
    }
  }
  const auto fail = [&](size_t line, const std::string& what) {
    return Error(path.string() + ":" + std::to_string(line) + ": " + what +
                 "; trials.csv is written by `pixelrec hpo run`: re-run it with --resume to "
                 "rewrite the file");
  };
  CsvRow row;
  while (reader.next(row)) {
    if (!row.error.empty()) throw fail(row.line, row.error);
    if (row.fields.size() != reader.header().size()) {
      throw fail(row.line, std::to_string(row.fields.size()) + " fields, the header has " +
                               std::to_string(reader.header().size()));
    }
    StudyTrial trial;
    const auto number = parse_int(row.fields[number_col]);
    if (!number)
      throw fail(row.line, "trial number '" + row.fields[number_col] + "' is not an integer");
    trial.number = *number;
    trial.state = row.fields[state_col];
    bool known = false;
    for (const char* state : kStates) known = known || trial.state == state;
    if (!known) {
      throw fail(row.line, "unknown state '" + trial.state +
                               "' (expected WAITING, RUNNING, COMPLETE, PRUNED, FAILED or STALE)");
    }
    if (!trim(row.fields[value_col]).empty()) {
      const auto value = parse_double(row.fields[value_col]);
      if (!value) throw fail(row.line, "value '" + row.fields[value_col] + "' is not a number");
      trial.value = *value;
    }
    for (size_t col : param_cols) trial.params.push_back(row.fields[col]);
    if (duration_col) trial.duration_s = row.fields[*duration_col];
    if (message_col) trial.message = row.fields[*message_col];
    study.trials.push_back(std::move(trial));
  }
  return study;
}

BestParams read_best_params(const fs::path& path) {
  const std::string text = read_file(path, "best parameters");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path.string() + ": invalid JSON (" + e.what() +
                "); best_params.json is written by `pixelrec hpo run`");
  }
  BestParams best;
  if (!j.is_object() || !j.contains("direction") || !j["direction"].is_string()) {
    throw Error(path.string() + ": \"direction\" is missing; expected minimize or maximize");
  }
  best.direction = j["direction"].get<std::string>();
  if (best.direction != "minimize" && best.direction != "maximize") {
    throw Error(path.string() + ": direction '" + best.direction +
                "' is neither minimize nor maximize");
  }
  if (j.contains("study") && j["study"].is_string()) best.study = j["study"].get<std::string>();
  if (j.contains("trial") && j["trial"].is_number_integer()) best.trial = j["trial"].get<int64_t>();
  if (j.contains("value") && j["value"].is_number()) best.value = j["value"].get<double>();
  return best;
}

}  // namespace pixelrec::report
