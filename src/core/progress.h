// A progress bar with rate and ETA for long loops. Draws on stderr only when it is a terminal
// (and `enabled`); otherwise it logs a line every ~10% so logs still show progress.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace pixelrec {

class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total, bool enabled = true);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void advance(uint64_t n = 1);  // thread-safe
  void finish();

 private:
  void draw(uint64_t done, bool final);

  std::string label_;
  uint64_t total_;
  bool tty_;
  bool enabled_;
  std::atomic<uint64_t> done_{0};
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  int last_logged_decile_ = 0;
  bool finished_ = false;
  std::mutex mutex_;
};

}  // namespace pixelrec
