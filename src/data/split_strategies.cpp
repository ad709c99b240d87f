// The nine split strategies as pure functions of SplitKeys → one part per row.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/errors.h"
#include "core/rng.h"
#include "core/strings.h"
#include "data/split.h"

namespace pixelrec {

namespace {

constexpr uint64_t kAssignStream = 0x5111;  // Rng stream purposes of this file
constexpr uint64_t kSampleStream = 0x5A3B;

struct StrategyName {
  SplitStrategy strategy;
  const char* name;
};
constexpr StrategyName kStrategyNames[] = {
    {SplitStrategy::kLeaveOneOut, "leave_one_out"},
    {SplitStrategy::kTemporal, "temporal"},
    {SplitStrategy::kUserTemporal, "user_temporal"},
    {SplitStrategy::kRandom, "random"},
    {SplitStrategy::kStratified, "stratified"},
    {SplitStrategy::kStratifiedByColumn, "stratified_by_column"},
    {SplitStrategy::kStratifiedTemporal, "stratified_temporal"},
    {SplitStrategy::kUser, "user"},
    {SplitStrategy::kItem, "item"},
};

using RowList = std::vector<uint32_t>;

// Rows grouped by a dense key (counting sort): group g is rows[offsets[g] .. offsets[g+1]), each
// group in input order.
struct Groups {
  std::vector<size_t> offsets;
  RowList rows;
};

Groups group_rows(const std::vector<uint32_t>& key, uint32_t key_count) {
  Groups groups;
  groups.offsets.assign(static_cast<size_t>(key_count) + 1, 0);
  for (uint32_t k : key) ++groups.offsets[k + 1];
  std::partial_sum(groups.offsets.begin(), groups.offsets.end(), groups.offsets.begin());
  std::vector<size_t> cursor(groups.offsets.begin(), groups.offsets.end() - 1);
  groups.rows.resize(key.size());
  for (size_t r = 0; r < key.size(); ++r) groups.rows[cursor[key[r]]++] = static_cast<uint32_t>(r);
  return groups;
}

// Orders rows by (timestamp, input order).
void sort_by_time(RowList::iterator begin, RowList::iterator end, const SplitKeys& keys) {
  std::sort(begin, end, [&keys](uint32_t a, uint32_t b) {
    const int64_t ta = keys.timestamp[a], tb = keys.timestamp[b];
    return ta != tb ? ta < tb : a < b;
  });
}

void shuffle_range(RowList::iterator begin, RowList::iterator end, Rng& rng) {
  for (auto n = static_cast<uint64_t>(end - begin); n > 1; --n)
    std::swap(begin[static_cast<ptrdiff_t>(n - 1)], begin[static_cast<ptrdiff_t>(rng.below(n))]);
}

// Snaps a value that is an integer up to floating-point noise (20 * 0.9 = 18.000000000000004).
double snap_integer(double x) {
  const double r = std::round(x);
  return std::fabs(x - r) < 1e-9 ? r : x;
}

struct Cuts {
  size_t val_begin = 0;   // rows [0, val_begin) → train
  size_t test_begin = 0;  // rows [val_begin, test_begin) → val, the rest → test
};

// Cut points for one group of m ordered rows. The fractional cut points are rounded
// stochastically with one shared draw: expected part sizes equal m × ratio exactly, so thousands
// of small groups add up to the global ratios, and val_begin <= test_begin always.
Cuts stochastic_cuts(size_t m, const SplitRatios& ratios, Rng& rng) {
  const double u = rng.uniform();
  const auto cut = [&](double share) {
    return std::min(m, static_cast<size_t>(std::floor(snap_integer(share * m) + u)));
  };
  return {cut(ratios.train), cut(ratios.train + ratios.val)};
}

// Rounded cut points for one large ordered list (global strategies).
Cuts rounded_cuts(size_t n, const SplitRatios& ratios) {
  const auto cut = [n](double share) {
    return std::min(n, static_cast<size_t>(std::llround(share * static_cast<double>(n))));
  };
  return {cut(ratios.train), cut(ratios.train + ratios.val)};
}

void assign_cuts(RowList::const_iterator begin, RowList::const_iterator end, Cuts cuts,
                 std::vector<SplitPart>& part) {
  for (auto it = begin; it != end; ++it) {
    const auto pos = static_cast<size_t>(it - begin);
    part[*it] = pos < cuts.val_begin    ? SplitPart::kTrain
                : pos < cuts.test_begin ? SplitPart::kVal
                                        : SplitPart::kTest;
  }
}

// Per-group cut: each group ordered by time or shuffled, then cut by the ratios.
enum class GroupOrder { kTime, kShuffle };

void split_groups(Groups groups, GroupOrder order, const SplitKeys& keys,
                  const SplitRatios& ratios, Rng& rng, std::vector<SplitPart>& part) {
  RowList& rows = groups.rows;
  for (size_t g = 0; g + 1 < groups.offsets.size(); ++g) {
    const auto begin = rows.begin() + static_cast<ptrdiff_t>(groups.offsets[g]);
    const auto end = rows.begin() + static_cast<ptrdiff_t>(groups.offsets[g + 1]);
    if (order == GroupOrder::kTime)
      sort_by_time(begin, end, keys);
    else
      shuffle_range(begin, end, rng);
    assign_cuts(begin, end, stochastic_cuts(static_cast<size_t>(end - begin), ratios, rng), part);
  }
}

SplitAssignment leave_one_out(const SplitKeys& keys) {
  SplitAssignment out;
  out.part.assign(keys.rows(), SplitPart::kTrain);
  Groups groups = group_rows(keys.user, keys.user_count);
  for (size_t u = 0; u < keys.user_count; ++u) {
    const auto begin = groups.rows.begin() + static_cast<ptrdiff_t>(groups.offsets[u]);
    const auto end = groups.rows.begin() + static_cast<ptrdiff_t>(groups.offsets[u + 1]);
    if (end - begin < 3) {  // too few for train + val + test: all of them stay in train
      ++out.users_with_too_few_interactions;
      continue;
    }
    sort_by_time(begin, end, keys);
    out.part[*(end - 1)] = SplitPart::kTest;
    out.part[*(end - 2)] = SplitPart::kVal;
  }
  return out;
}

// Moves a cut in time-ordered rows to the nearest position where the timestamp changes, so no
// timestamp value is in two parts.
size_t snap_to_time_boundary(const RowList& order, const SplitKeys& keys, size_t cut) {
  const auto boundary = [&](size_t c) {
    return c == 0 || c == order.size() || keys.timestamp[order[c - 1]] != keys.timestamp[order[c]];
  };
  size_t lo = cut, hi = cut;
  while (!boundary(lo)) --lo;
  while (!boundary(hi)) ++hi;
  return cut - lo <= hi - cut ? lo : hi;
}

SplitAssignment temporal(const SplitKeys& keys, const SplitRatios& ratios) {
  RowList order(keys.rows());
  std::iota(order.begin(), order.end(), 0u);
  sort_by_time(order.begin(), order.end(), keys);
  Cuts cuts = rounded_cuts(order.size(), ratios);
  cuts.val_begin = snap_to_time_boundary(order, keys, cuts.val_begin);
  cuts.test_begin = snap_to_time_boundary(order, keys, cuts.test_begin);
  SplitAssignment out;
  out.part.resize(keys.rows());
  assign_cuts(order.begin(), order.end(), cuts, out.part);
  return out;
}

SplitAssignment random_rows(const SplitKeys& keys, const SplitRatios& ratios, Rng& rng) {
  RowList order(keys.rows());
  std::iota(order.begin(), order.end(), 0u);
  shuffle_range(order.begin(), order.end(), rng);
  SplitAssignment out;
  out.part.resize(keys.rows());
  assign_cuts(order.begin(), order.end(), rounded_cuts(order.size(), ratios), out.part);
  return out;
}

SplitAssignment per_group(const std::vector<uint32_t>& key, uint32_t key_count, GroupOrder order,
                          const SplitKeys& keys, const SplitRatios& ratios, Rng& rng) {
  SplitAssignment out;
  out.part.resize(keys.rows());
  split_groups(group_rows(key, key_count), order, keys, ratios, rng, out.part);
  return out;
}

// Disjoint entities (users or items): entities in seeded random order fill train, then val, then
// test; an entity goes to the part whose interaction range holds its midpoint, so each part's
// share is within half an entity of its ratio.
SplitAssignment disjoint_entities(const std::vector<uint32_t>& key, uint32_t key_count,
                                  const SplitRatios& ratios, Rng& rng) {
  std::vector<size_t> size(key_count, 0);
  for (uint32_t k : key) ++size[k];
  RowList order(key_count);
  std::iota(order.begin(), order.end(), 0u);
  shuffle_range(order.begin(), order.end(), rng);
  const double n = static_cast<double>(key.size());
  const double val_begin = ratios.train * n, test_begin = (ratios.train + ratios.val) * n;
  std::vector<SplitPart> entity_part(key_count, SplitPart::kTrain);
  double filled = 0.0;
  for (uint32_t e : order) {
    const double mid = filled + 0.5 * static_cast<double>(size[e]);
    entity_part[e] = mid < val_begin    ? SplitPart::kTrain
                     : mid < test_begin ? SplitPart::kVal
                                        : SplitPart::kTest;
    filled += static_cast<double>(size[e]);
  }
  SplitAssignment out;
  out.part.resize(key.size());
  for (size_t r = 0; r < key.size(); ++r) out.part[r] = entity_part[key[r]];
  return out;
}

SplitAssignment dispatch(SplitStrategy strategy, const SplitKeys& keys, const SplitRatios& ratios,
                         uint64_t seed) {
  Rng rng = Rng::stream(seed, {kAssignStream, static_cast<uint64_t>(strategy)});
  switch (strategy) {
    case SplitStrategy::kLeaveOneOut:
      return leave_one_out(keys);
    case SplitStrategy::kTemporal:
      return temporal(keys, ratios);
    case SplitStrategy::kUserTemporal:
      return per_group(keys.user, keys.user_count, GroupOrder::kTime, keys, ratios, rng);
    case SplitStrategy::kRandom:
      return random_rows(keys, ratios, rng);
    case SplitStrategy::kStratified:
      return per_group(keys.user, keys.user_count, GroupOrder::kShuffle, keys, ratios, rng);
    case SplitStrategy::kStratifiedByColumn:
      return per_group(keys.stratum, keys.stratum_count, GroupOrder::kShuffle, keys, ratios, rng);
    case SplitStrategy::kStratifiedTemporal:
      return per_group(keys.stratum, keys.stratum_count, GroupOrder::kTime, keys, ratios, rng);
    case SplitStrategy::kUser:
      return disjoint_entities(keys.user, keys.user_count, ratios, rng);
    case SplitStrategy::kItem:
      return disjoint_entities(keys.item, keys.item_count, ratios, rng);
  }
  PIXELREC_CHECK(false, "unhandled split strategy");
}

std::string empty_part_fix(SplitStrategy strategy, SplitPart part) {
  if (strategy == SplitStrategy::kLeaveOneOut)
    return "no user has the 3 interactions leave_one_out needs; use more data (a larger "
           "--sample-n or data.sample_size, if set) or another data.splitting.strategy";
  return "use more data, a larger data.splitting." + std::string(split_part_name(part)) +
         "_final_ratio, or another data.splitting.strategy";
}

void check_no_empty_part(SplitStrategy strategy, const SplitKeys& keys,
                         const SplitAssignment& assignment) {
  std::array<size_t, kSplitPartCount> counts{};
  for (SplitPart p : assignment.part) ++counts[static_cast<size_t>(p)];
  for (SplitPart part : kSplitParts) {
    if (counts[static_cast<size_t>(part)] > 0) continue;
    throw Error("split strategy '" + std::string(split_strategy_name(strategy)) + "' leaves the " +
                std::string(split_part_name(part)) + " part empty (" + std::to_string(keys.rows()) +
                " interactions, " + std::to_string(keys.user_count) + " users, " +
                std::to_string(keys.item_count) + " items): " + empty_part_fix(strategy, part));
  }
}

}  // namespace

SplitStrategy parse_split_strategy(std::string_view name) {
  std::vector<std::string> allowed;
  for (const auto& entry : kStrategyNames) {
    if (name == entry.name) return entry.strategy;
    allowed.emplace_back(entry.name);
  }
  throw Error("data.splitting.strategy: unknown strategy '" + std::string(name) +
              "' (allowed: " + join(allowed, ", ") + ")");
}

std::string_view split_strategy_name(SplitStrategy strategy) {
  for (const auto& entry : kStrategyNames)
    if (entry.strategy == strategy) return entry.name;
  PIXELREC_CHECK(false, "unnamed split strategy");
}

bool strategy_uses_ratios(SplitStrategy strategy) {
  return strategy != SplitStrategy::kLeaveOneOut;
}

bool strategy_uses_strata(SplitStrategy strategy) {
  return strategy == SplitStrategy::kStratifiedByColumn ||
         strategy == SplitStrategy::kStratifiedTemporal;
}

std::string_view split_part_name(SplitPart part) {
  switch (part) {
    case SplitPart::kTrain:
      return "train";
    case SplitPart::kVal:
      return "val";
    case SplitPart::kTest:
      return "test";
  }
  PIXELREC_CHECK(false, "unnamed split part");
}

void check_split_ratios(SplitStrategy strategy, const SplitRatios& ratios) {
  if (!strategy_uses_ratios(strategy)) return;
  const std::pair<SplitPart, double> used[] = {{SplitPart::kTrain, ratios.train},
                                               {SplitPart::kVal, ratios.val},
                                               {SplitPart::kTest, ratios.test}};
  for (const auto& [part, value] : used) {
    if (value > 0.0) continue;
    throw Error(fmt::format(
        "impossible ratios for split strategy '{}': data.splitting.{}_final_ratio = {} would "
        "leave the {} part empty; give data.splitting.train_final_ratio, val_final_ratio and "
        "test_final_ratio values > 0 that sum to 1",
        split_strategy_name(strategy), split_part_name(part), value, split_part_name(part)));
  }
}

SplitAssignment assign_split(SplitStrategy strategy, const SplitKeys& keys,
                             const SplitRatios& ratios, uint64_t seed) {
  check_split_ratios(strategy, ratios);
  PIXELREC_CHECK(keys.rows() < std::numeric_limits<uint32_t>::max(),
                 "more than 2^32 interactions: row indices would overflow");
  PIXELREC_CHECK(keys.item.size() == keys.rows() && keys.timestamp.size() == keys.rows(),
                 "split keys of unequal length");
  PIXELREC_CHECK(!strategy_uses_strata(strategy) || keys.stratum.size() == keys.rows(),
                 "stratified split without strata");
  SplitAssignment assignment = dispatch(strategy, keys, ratios, seed);
  check_no_empty_part(strategy, keys, assignment);
  return assignment;
}

std::vector<size_t> sample_rows(size_t total, size_t n, uint64_t seed) {
  if (n > total)
    throw Error("cannot sample " + std::to_string(n) + " interactions from " +
                std::to_string(total) + " (lower --sample-n or data.sample_size, or unset it)");
  std::vector<size_t> rows(total);
  std::iota(rows.begin(), rows.end(), size_t{0});
  Rng rng = Rng::stream(seed, {kSampleStream});
  for (size_t i = 0; i < n; ++i) std::swap(rows[i], rows[i + rng.below(total - i)]);
  rows.resize(n);
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace pixelrec
