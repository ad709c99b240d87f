// The coordinator as a child process of the soak benchmark (`pixelrec hpo coordinator`, its
// stdout and stderr in files), and a probe of its resident memory (VmRSS in /proc/<pid>/status)
// and CPU time (utime + stime in /proc/<pid>/stat).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace pixelrec::bench {

class ChildProcess {
 public:
  // Runs `argv` with stdout and stderr appended to `log`.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    if (running()) kill9();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && status_ < 0; }

  // True once it exited (without waiting); exit_status() then holds its status.
  bool poll() {
    if (!running()) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }
  void kill9() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = 128 + SIGKILL;
  }
  int exit_status() const { return status_; }  // 128 + signal when killed

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

struct ProcessSample {
  double seconds = 0;      // since the process was started
  double rss_mib = 0;      // VmRSS
  double cpu_seconds = 0;  // user + system
};

// One sample of `pid`; false when it is gone.
inline bool sample_process(pid_t pid, double since_start, ProcessSample& out) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  bool found = false;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      out.rss_mib = std::stod(line.substr(6)) / 1024.0;  // kB
      found = true;
    }
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close_paren = text.rfind(')');  // the command name may hold spaces
  if (!found || close_paren == std::string::npos) return false;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int k = 3; k <= 15 && fields >> field; ++k) {  // field 3 is the state
    if (k == 14) utime = std::stod(field);
    if (k == 15) stime = std::stod(field);
  }
  out.cpu_seconds = (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  out.seconds = since_start;
  return true;
}

}  // namespace pixelrec::bench
