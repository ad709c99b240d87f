#include "report/param_importance.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/errors.h"
#include "core/strings.h"

namespace pixelrec::report {

namespace {

// Group index of every used trial for one parameter; returns the number of groups.
size_t assign_groups(const std::vector<std::string>& values, bool& numeric,
                     std::vector<size_t>& group) {
  const size_t n = values.size();
  group.assign(n, 0);
  std::vector<size_t> active;
  std::vector<double> numbers(n, 0.0);
  numeric = true;
  for (size_t i = 0; i < n; ++i) {
    if (values[i].empty()) continue;
    active.push_back(i);
    const auto v = parse_double(values[i]);
    if (v && std::isfinite(*v)) {
      numbers[i] = *v;
    } else {
      numeric = false;
    }
  }
  numeric = numeric && !active.empty();
  size_t groups = 0;
  if (numeric) {
    // Sort by value; rank r falls in bin r*B/m. A new group starts where the value changes and
    // the bin differs from the current group's, so equal values always share a group.
    std::sort(active.begin(), active.end(), [&](size_t a, size_t b) {
      return numbers[a] < numbers[b] || (numbers[a] == numbers[b] && a < b);
    });
    const size_t m = active.size(), bins = std::min(quantile_bins(m), m);
    size_t current = 0, current_bin = 0;
    for (size_t r = 0; r < m; ++r) {
      const size_t bin = r * bins / m;
      if (r > 0 && numbers[active[r]] != numbers[active[r - 1]] && bin != current_bin) {
        ++current;
        current_bin = bin;
      }
      group[active[r]] = current;
    }
    groups = m == 0 ? 0 : group[active.back()] + 1;
  } else {
    std::map<std::string, size_t> ids;
    for (size_t i : active) {
      const auto [it, inserted] = ids.emplace(values[i], ids.size());
      group[i] = it->second;
    }
    groups = ids.size();
  }
  if (active.size() < n) {  // inactive trials form one more group
    for (size_t i = 0; i < n; ++i) {
      if (values[i].empty()) group[i] = groups;
    }
    ++groups;
  }
  return groups;
}

}  // namespace

size_t quantile_bins(size_t n) {
  const auto root = static_cast<size_t>(std::floor(std::sqrt(static_cast<double>(n))));
  return std::clamp<size_t>(root, 2, 10);
}

ImportanceResult parameter_importance(const std::vector<std::optional<double>>& objective,
                                      const std::vector<ParamColumn>& params) {
  std::vector<size_t> used;  // trials with a finite objective
  for (size_t t = 0; t < objective.size(); ++t) {
    if (objective[t] && std::isfinite(*objective[t])) used.push_back(t);
  }
  ImportanceResult result;
  result.trials = used.size();
  const size_t n = used.size();
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = *objective[used[i]];
  const double mean = n ? std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n) : 0;
  double ss_total = 0;
  for (double v : y) ss_total += (v - mean) * (v - mean);

  std::vector<std::string> values(n);
  std::vector<size_t> group;
  std::vector<double> sums;
  std::vector<size_t> counts;
  double total_epsilon = 0;
  for (const ParamColumn& column : params) {
    PIXELREC_CHECK(column.values.size() == objective.size(),
                   "parameter column '" + column.name + "' has the wrong length");
    ParamImportance p;
    p.name = column.name;
    for (size_t i = 0; i < n; ++i) values[i] = column.values[used[i]];
    p.groups = n ? assign_groups(values, p.numeric, group) : 0;
    if (n >= 3 && ss_total > 0 && p.groups >= 2) {
      sums.assign(p.groups, 0.0);
      counts.assign(p.groups, 0);
      for (size_t i = 0; i < n; ++i) sums[group[i]] += y[i], ++counts[group[i]];
      double ss_between = 0;
      for (size_t g = 0; g < p.groups; ++g) {
        if (counts[g] == 0) continue;
        const double group_mean = sums[g] / static_cast<double>(counts[g]);
        ss_between += static_cast<double>(counts[g]) * (group_mean - mean) * (group_mean - mean);
      }
      p.eta_squared = std::clamp(ss_between / ss_total, 0.0, 1.0);
      if (n > p.groups) {
        const double ms_within = (ss_total - ss_between) / static_cast<double>(n - p.groups);
        const double ms_total = ss_total / static_cast<double>(n - 1);
        p.epsilon_squared = std::clamp(1.0 - ms_within / ms_total, 0.0, 1.0);
      }
    }
    total_epsilon += p.epsilon_squared;
    result.params.push_back(std::move(p));
  }
  if (n < 3) {
    result.undefined_reason = "fewer than 3 COMPLETE trials with a finite value";
  } else if (!(ss_total > 0)) {
    result.undefined_reason = "the objective has the same value in every COMPLETE trial";
  } else if (!(total_epsilon > 0)) {
    result.undefined_reason = "no parameter explains more of the objective than chance";
  } else {
    for (ParamImportance& p : result.params) p.importance = p.epsilon_squared / total_epsilon;
  }
  return result;
}

}  // namespace pixelrec::report
