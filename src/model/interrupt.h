// SIGINT/SIGTERM/SIGUSR1 during training: the handler only records the signal; the trainer checks
// it after each optimizer step, writes the `last` checkpoint and exits (128 + signal).
#pragma once

namespace pixelrec::model {

// Nested calls are counted: only the outermost install/restore pair changes the handlers (a
// search worker keeps them installed between trials, around the trainer's own pair).
void install_interrupt_handlers();
void restore_interrupt_handlers();
int pending_interrupt();  // 0 when none, else the signal number
void clear_interrupt();

}  // namespace pixelrec::model
