#include "model/interrupt.h"

#include <csignal>

namespace pixelrec::model {
namespace {

volatile std::sig_atomic_t g_signal = 0;
struct sigaction g_previous_int, g_previous_term, g_previous_usr1;
int g_installed = 0;  // nesting depth: a search worker installs them around the trainer's own

void on_signal(int signal) { g_signal = signal; }

}  // namespace

void install_interrupt_handlers() {
  if (g_installed++ > 0) return;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
  sigaction(SIGUSR1, &action, &g_previous_usr1);  // SLURM's pre-emption warning (--signal)
}

void restore_interrupt_handlers() {
  if (g_installed == 0 || --g_installed > 0) return;
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  sigaction(SIGUSR1, &g_previous_usr1, nullptr);
}

int pending_interrupt() { return int(g_signal); }
void clear_interrupt() { g_signal = 0; }

}  // namespace pixelrec::model
