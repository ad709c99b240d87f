#include "support/background_command.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace pixelrec::test {

using Clock = std::chrono::steady_clock;

BackgroundCommand::BackgroundCommand(const std::string& command, fs::path log)
    : log_(std::move(log)) {
  const std::string line = "exec " + command + " > " + shell_quote(log_.string()) + " 2>&1";
  pid_ = ::fork();
  if (pid_ == 0) {
    ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
}

BackgroundCommand::~BackgroundCommand() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

int BackgroundCommand::wait(std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status_;
}

std::string BackgroundCommand::log() const {
  return fs::exists(log_) ? read_text(log_) : std::string();
}

bool BackgroundCommand::wait_for_log(const std::string& text, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (log().find(text) == std::string::npos) {
    if (Clock::now() > deadline || wait(std::chrono::seconds(0)) != -1)
      return log().find(text) != std::string::npos;  // it may have written it as it ended
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace pixelrec::test
