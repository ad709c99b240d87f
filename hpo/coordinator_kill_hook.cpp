#include "hpo/coordinator_kill_hook.h"

#include <csignal>
#include <cstdlib>

#include "core/errors.h"
#include "core/logging.h"
#include "core/strings.h"

namespace pixelrec::hpo {

std::optional<KillPoint> KillPoint::from_environment() {
  const char* value = std::getenv("PIXELREC_TEST_COORDINATOR_KILL");
  if (!value || !*value) return std::nullopt;
  const std::vector<std::string> parts = split(value, ':');
  KillPoint p;
  p.point = parts.empty() ? "" : parts[0];
  const bool with_step = p.point == "report" || p.point == "reported";
  const bool known = with_step || p.point == "leased" || p.point == "finish";
  if (!known || parts.size() != (with_step ? 3u : 2u)) {
    throw UsageError("PIXELREC_TEST_COORDINATOR_KILL='" + std::string(value) +
                     "' is not leased:T, report:T:S, reported:T:S or finish:T");
  }
  p.trial = std::atoll(parts[1].c_str());
  if (with_step) p.step = std::atoll(parts[2].c_str());
  return p;
}

bool KillPoint::matches(std::string_view at, int64_t trial_number, int64_t step_number) const {
  return point == at && trial == trial_number && step == step_number;
}

void kill_self(const KillPoint& point) {
  spdlog::warn("coordinator: test hook: killed at {} of trial {}", point.point, point.trial);
  spdlog::default_logger()->flush();
  std::raise(SIGKILL);
  std::abort();  // not reached
}

}  // namespace pixelrec::hpo
