// What a finished study leaves for people and scripts: best_params.json (the winner),
// trials.csv (one row per trial) and history.html (a self-contained page: trial table and an
// inline SVG of value by trial with the best so far). Pure text builders plus one writer.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "hpo/storage.h"

namespace pixelrec::hpo {

// {"study", "direction", "trial", "value", "params": {...}} for the best COMPLETE trial.
std::string best_params_json(const StudyRecord& study, const FrozenTrial& best);

// Header: number,state,value,params_<name> (space order)...,duration_s,attempt,message.
// Inactive parameters and missing values are empty cells; RFC 4180 quoting.
std::string trials_csv(const SearchSpace& space, const std::vector<StoredTrial>& trials);

// One HTML page with inline CSS and SVG only (no scripts, no external resources).
std::string history_html(const StudyRecord& study, const SearchSpace& space,
                         const std::vector<StoredTrial>& trials);

// Writes trials.csv and history.html into `dir`, and best_params.json when a trial completed
// (a stale best_params.json from an earlier run is removed otherwise). Atomic writes.
void write_study_outputs(const std::filesystem::path& dir, const StudyRecord& study,
                         const SearchSpace& space, const std::vector<StoredTrial>& trials);

}  // namespace pixelrec::hpo
