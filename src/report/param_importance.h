// Parameter importance of a study: for each parameter, the share of the objective's variance
// over COMPLETE trials explained by grouping the trials by that parameter (adjusted correlation
// ratio, epsilon squared), normalised to sum 1. Formula in docs/report.md.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pixelrec::report {

// One parameter's values over the trials: "" = inactive (conditional parameter not used).
struct ParamColumn {
  std::string name;
  std::vector<std::string> values;
};

struct ParamImportance {
  std::string name;
  bool numeric = false;    // every active value parses as a number: grouped by quantile bins
  size_t groups = 0;       // bins or categories, plus one for "inactive" when any trial lacks it
  double eta_squared = 0;  // SS_between / SS_total
  double epsilon_squared = 0;  // max(0, 1 - (SS_within/(n-k)) / (SS_total/(n-1)))
  double importance = 0;       // epsilon_squared / sum over parameters; 0 when that sum is 0
};

struct ImportanceResult {
  size_t trials = 0;                    // COMPLETE trials with a finite value used
  std::vector<ParamImportance> params;  // input order
  std::string undefined_reason;         // non-empty: importances are all 0 and this says why
};

// Number of quantile bins for a numeric parameter with n trials: clamp(floor(sqrt(n)), 2, 10).
size_t quantile_bins(size_t n);

// `objective[t]` is trial t's value (nullopt unless COMPLETE); every column has one value per
// trial. Parameters are independent of each other's results.
ImportanceResult parameter_importance(const std::vector<std::optional<double>>& objective,
                                      const std::vector<ParamColumn>& params);

}  // namespace pixelrec::report
