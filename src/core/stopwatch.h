// Wall-clock seconds on the steady clock, for timings in logs and result files.
#pragma once

#include <chrono>

namespace pixelrec {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace pixelrec
