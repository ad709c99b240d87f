#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/logging.h"
#include "core/strings.h"

namespace pixelrec {

ProgressBar::ProgressBar(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) != 0),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!finished_) finish();
}

void ProgressBar::advance(uint64_t n) {
  const uint64_t done = done_.fetch_add(n) + n;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(done, false);
  } else if (total_ > 0) {
    const int decile = static_cast<int>(10 * done / total_);
    if (decile > last_logged_decile_ && decile < 10) {
      last_logged_decile_ = decile;
      draw(done, false);
    }
  }
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  draw(done_.load(), true);
}

void ProgressBar::draw(uint64_t done, bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 && total_ > done ? static_cast<double>(total_ - done) / rate : 0.0;
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  if (tty_) {
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %3.0f%% %s/%s %s/s ETA %.0fs   ", label_.c_str(), bar.c_str(),
                 100 * frac, human_count(static_cast<double>(done)).c_str(),
                 human_count(static_cast<double>(total_)).c_str(), human_count(rate).c_str(), eta);
    if (final) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  } else {
    spdlog::info("{}: {:.0f}% ({}/{}), {}/s, {:.1f}s elapsed", label_, 100 * frac, done, total_,
                 human_count(rate), elapsed);
  }
}

}  // namespace pixelrec
