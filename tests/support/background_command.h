// A command running in the background while a test drives it (a coordinator, a worker): its exit
// status, its log, and waiting for a line in it. Killed (SIGKILL) when the object dies.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "support/test_support.h"

namespace pixelrec::test {

class BackgroundCommand {
 public:
  // Runs `command` with sh's `exec` (the pid is the command's own), stdout and stderr in `log`.
  BackgroundCommand(const std::string& command, fs::path log);
  ~BackgroundCommand();
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;

  // The exit status (128 + signal when a signal ended it), or -1 when still running at `limit`.
  int wait(std::chrono::seconds limit = std::chrono::seconds(240));
  std::string log() const;
  // Waits until the log contains `text`; false when the command ended or `limit` passed first.
  bool wait_for_log(const std::string& text,
                    std::chrono::seconds limit = std::chrono::seconds(120));

 private:
  fs::path log_;
  pid_t pid_ = -1;
  int status_ = -1;
};

}  // namespace pixelrec::test
