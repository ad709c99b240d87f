// Trials of a baseline study (hyperparameter_search.target: ease | ials | itemknn | userknn): no
// training; the baseline is fitted on the training part with the trial's evaluation.* values and
// evaluated on the validation part exactly as the model's per-epoch validation is (sampled task,
// evaluation.num_negatives and evaluation.seed), so its val_* metrics compare with a model study's.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "distributed/communicator.h"

namespace pixelrec::app {

// The target baseline on the validation part: ("val_<metric>", value) in the evaluator's order.
// Rank 0 writes the result JSON to
// <results_dir>/<run_name>/eval/<target>_<training.validation_task>_val.json.
std::vector<std::pair<std::string, double>> validate_baseline(const Config& config,
                                                              const std::string& run_name,
                                                              dist::Communicator& comm);

// The target baseline on the test part, full-catalogue ranking: the result JSON of the best
// trial's test evaluation.
nlohmann::ordered_json test_baseline(const Config& config, dist::Communicator& comm);

}  // namespace pixelrec::app
