// How a training run learns that it must stop inside an epoch: a signal, or its caller's
// stop request; both ride the per-step agreement of the gradient exchange (the largest value
// over ranks wins). Also the test hooks that raise a signal or stall a rank at an exact step.
#pragma once

#include <chrono>
#include <cstdint>

#include "train/loop/trainer.h"

namespace pixelrec::train {

// Above every signal number, and abandoning above checkpointing.
inline constexpr int kCheckpointRequest = 100;
inline constexpr int kAbandonRequest = 101;

// The caller's stop request as such a code (0: none).
int request_code(const TrainOptions& options);

// Test hooks: PIXELREC_TEST_SIGNAL_AFTER_STEPS=N raises SIGTERM after optimizer step N (on rank
// PIXELREC_TEST_SIGNAL_RANK only, when set), so tests can interrupt training at an exact point;
// PIXELREC_TEST_STALL_AFTER_STEPS=N makes rank PIXELREC_TEST_STALL_RANK (default 0) sleep there
// (PIXELREC_TEST_STALL_SECONDS, default 600), a stalled peer for the collective timeout.
// Returns the step, or -1 when the hook is off for `rank`.
int64_t test_step_hook(const char* steps_variable, const char* rank_variable, int rank,
                       int default_rank);
std::chrono::seconds test_stall_duration();

}  // namespace pixelrec::train
