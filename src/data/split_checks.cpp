// Leakage checks: the invariants each strategy promises, verified on the finished assignment.
#include <algorithm>
#include <limits>

#include "data/split.h"

namespace pixelrec {

namespace {

constexpr size_t kMaxReported = 5;  // examples per violated invariant

class Violations {
 public:
  void add(const std::string& message) {
    if (++count_ <= kMaxReported) messages_.push_back(message);
  }
  std::vector<std::string> finish(const std::string& invariant) {
    if (count_ > kMaxReported)
      messages_.push_back("... " + std::to_string(count_ - kMaxReported) + " more violations of " +
                          invariant);
    return std::move(messages_);
  }

 private:
  size_t count_ = 0;
  std::vector<std::string> messages_;
};

size_t index(SplitPart part) { return static_cast<size_t>(part); }
std::string name(SplitPart part) { return std::string(split_part_name(part)); }

// Time range of each (group, part); group = 0 for a global range.
struct TimeRanges {
  explicit TimeRanges(size_t groups)
      : min(groups * kSplitPartCount, std::numeric_limits<int64_t>::max()),
        max(groups * kSplitPartCount, std::numeric_limits<int64_t>::min()) {}
  void add(size_t group, SplitPart part, int64_t t) {
    const size_t i = group * kSplitPartCount + index(part);
    min[i] = std::min(min[i], t);
    max[i] = std::max(max[i], t);
  }
  bool empty(size_t group, SplitPart part) const {
    return min[group * kSplitPartCount + index(part)] > max[group * kSplitPartCount + index(part)];
  }
  std::vector<int64_t> min, max;
};

// Every timestamp of `earlier` comes before (strictly, or not after) every one of `later`.
void check_order(const TimeRanges& ranges, size_t groups, SplitPart earlier, SplitPart later,
                 bool strict, const std::string& what, Violations& out) {
  for (size_t g = 0; g < groups; ++g) {
    if (ranges.empty(g, earlier) || ranges.empty(g, later)) continue;
    const int64_t last = ranges.max[g * kSplitPartCount + index(earlier)];
    const int64_t first = ranges.min[g * kSplitPartCount + index(later)];
    if (strict ? last < first : last <= first) continue;
    out.add(what + (groups > 1 ? " #" + std::to_string(g) : "") + ": " + name(earlier) +
            " ends at timestamp " + std::to_string(last) + ", after " + name(later) +
            " starts at " + std::to_string(first));
  }
}

std::vector<std::string> check_time_order(const SplitKeys& keys, const SplitAssignment& a,
                                          bool per_user) {
  const size_t groups = per_user ? keys.user_count : 1;
  TimeRanges ranges(groups);
  for (size_t r = 0; r < keys.rows(); ++r)
    ranges.add(per_user ? keys.user[r] : 0, a.part[r], keys.timestamp[r]);
  Violations out;
  // A global cut keeps tied timestamps together (strict); per-user cuts may split a tie.
  const std::string what = per_user ? "user" : "time cut";
  check_order(ranges, groups, SplitPart::kTrain, SplitPart::kVal, !per_user, what, out);
  check_order(ranges, groups, SplitPart::kVal, SplitPart::kTest, !per_user, what, out);
  check_order(ranges, groups, SplitPart::kTrain, SplitPart::kTest, !per_user, what, out);
  return out.finish("time order");
}

// `entity` (user or item) values that appear in train and in another part; with `all_pairs`, val
// and test must be disjoint too.
std::vector<std::string> check_disjoint(const std::vector<uint32_t>& key, uint32_t count,
                                        const SplitAssignment& a, bool all_pairs,
                                        const std::string& entity) {
  std::vector<uint8_t> seen(count, 0);  // bit p: the entity has a row in part p
  for (size_t r = 0; r < key.size(); ++r) seen[key[r]] |= uint8_t(1u << index(a.part[r]));
  Violations out;
  const uint8_t train = 1u << index(SplitPart::kTrain);
  for (uint32_t e = 0; e < count; ++e) {
    const uint8_t bits = seen[e];
    const bool leaks = all_pairs ? (bits & (bits - 1)) != 0 : (bits & train) && bits != train;
    if (leaks)
      out.add(entity + " #" + std::to_string(e) + " is in " +
              std::to_string(__builtin_popcount(bits)) + " parts");
  }
  return out.finish(entity + " disjointness");
}

}  // namespace

std::vector<std::string> find_split_violations(SplitStrategy strategy, const SplitKeys& keys,
                                               const SplitAssignment& assignment) {
  if (assignment.part.size() != keys.rows())
    return {"the parts hold " + std::to_string(assignment.part.size()) +
            " rows but the input has " + std::to_string(keys.rows())};
  Violations coverage;
  for (size_t r = 0; r < keys.rows(); ++r)
    if (index(assignment.part[r]) >= kSplitPartCount)
      coverage.add("row " + std::to_string(r) + " is in no part");
  if (auto found = coverage.finish("coverage"); !found.empty()) return found;

  switch (strategy) {
    case SplitStrategy::kUser:
      return check_disjoint(keys.user, keys.user_count, assignment, true, "user");
    case SplitStrategy::kItem:
      return check_disjoint(keys.item, keys.item_count, assignment, false, "item");
    case SplitStrategy::kTemporal:
      return check_time_order(keys, assignment, false);
    case SplitStrategy::kLeaveOneOut:
    case SplitStrategy::kUserTemporal:
      return check_time_order(keys, assignment, true);
    default:
      return {};
  }
}

}  // namespace pixelrec
