#include "train/loop/stop_requests.h"

#include <cstdlib>

namespace pixelrec::train {

int request_code(const TrainOptions& options) {
  if (!options.stop_request) return 0;
  switch (options.stop_request()) {
    case StopRequest::kCheckpoint:
      return kCheckpointRequest;
    case StopRequest::kAbandon:
      return kAbandonRequest;
    default:
      return 0;
  }
}

int64_t test_step_hook(const char* steps_variable, const char* rank_variable, int rank,
                       int default_rank) {
  const char* steps = std::getenv(steps_variable);
  const char* only = std::getenv(rank_variable);
  if (!steps) return -1;
  if (only ? std::atoi(only) != rank : (default_rank >= 0 && rank != default_rank)) return -1;
  return std::atoll(steps);
}

std::chrono::seconds test_stall_duration() {
  const char* seconds = std::getenv("PIXELREC_TEST_STALL_SECONDS");
  return std::chrono::seconds(seconds ? std::atoll(seconds) : 600);
}

}  // namespace pixelrec::train
