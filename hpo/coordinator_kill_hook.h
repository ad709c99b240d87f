// A test hook (docs/hpo.md, "Test hooks"): PIXELREC_TEST_COORDINATOR_KILL=<point>:<trial>[:<step>]
// makes the coordinator kill itself with SIGKILL at one exact point of a trial, as `kill -9` at
// that instant would, so the resume tests can cover every point without racing a timer:
//   leased:T      right after the reply leasing trial T was written (before its first epoch)
//   report:T:S    when trial T's report of step S arrives, before it is recorded
//   reported:T:S  right after the answer to that report was written (during the next epoch)
//   finish:T      when trial T's finish arrives, before it is applied
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pixelrec::hpo {

struct KillPoint {
  std::string point;
  int64_t trial = -1;
  int64_t step = -1;  // report, reported only

  // The hook from the environment; nullopt when unset. Throws UsageError when malformed.
  static std::optional<KillPoint> from_environment();
  bool matches(std::string_view at, int64_t trial_number, int64_t step_number = -1) const;
};

// Flushes the logs and raises SIGKILL.
[[noreturn]] void kill_self(const KillPoint& point);

}  // namespace pixelrec::hpo
