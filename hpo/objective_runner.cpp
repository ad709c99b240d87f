#include "hpo/objective_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/errors.h"
#include "core/stopwatch.h"
#include "core/strings.h"

extern char** environ;

namespace pixelrec::hpo {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPollMs = 20;                // how often the child's exit is checked
constexpr double kGiveUpAfterKillS = 2.0;  // pipes still open this long after SIGKILL: stop reading
constexpr std::string_view kEnvPrefix = "PIXELREC_PARAM_";

// Blocks SIGPIPE in this thread while the objective runs (writing its stdin after it exited must
// not kill us) and discards a SIGPIPE that the writes raised before unblocking.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

struct Fd {
  int fd = -1;
  ~Fd() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  bool open() const { return fd >= 0; }
};

// pipe2 with both ends close-on-exec, so objectives started by other threads never inherit them
// (an inherited write end would keep this objective's stdout from reaching end-of-file).
void make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw Error(std::string("cannot create a pipe for the objective: ") + std::strerror(errno) +
                "; raise the open-file limit (ulimit -n)");
  }
  read_end.fd = fds[0];
  write_end.fd = fds[1];
}

// Environment for the child: ours without inherited PIXELREC_PARAM_* plus the trial's.
std::vector<std::string> child_environment(const ParamMap& params) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    if (std::string_view(*e).substr(0, kEnvPrefix.size()) != kEnvPrefix) env.emplace_back(*e);
  }
  for (const auto& [name, value] : params)
    env.push_back(param_env_name(name) + "=" + format_value(value));
  return env;
}

std::string one_line(std::string text) {
  text = std::string(trim(text));
  std::string out;
  for (const std::string& line : split(text, '\n')) {
    const std::string_view t = trim(line);
    if (t.empty()) continue;
    if (!out.empty()) out += " | ";
    out += t;
  }
  return out;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "ended with wait status " + std::to_string(status);
}

// The state of one running objective: its pipes, the parsed output and the stop sequence.
class ObjectiveProcess {
 public:
  ObjectiveProcess(const std::string& command, const ParamMap& params,
                   const ReportHandler& on_report, const ObjectiveOptions& options)
      : on_report_(on_report), options_(options) {
    stdin_data_ = params_to_json(params).dump() + "\n";
    spawn(command, params);
  }

  ObjectiveResult wait() {
    const auto start = Clock::now();
    while (!exited_ || out_.open() || err_.open()) {
      poll_once();
      if (!exited_ && has_exited()) {
        exited_ = true;
        result_.seconds = seconds_since(start);
        stop("");  // whatever it left running in its group (background jobs) stops too
      }
      if (stopping_ && !killed_ && seconds_since(stop_time_) >= options_.kill_grace_seconds) {
        ::kill(-pid_, SIGKILL);
        killed_ = true;
        kill_time_ = Clock::now();
      }
      if (killed_ && seconds_since(kill_time_) >= kGiveUpAfterKillS) {
        out_.close();  // a process that left the group holds the pipes: stop reading them
        err_.close();
      }
    }
    if (!pending_line_.empty()) handle_line(pending_line_);
    // The main process is a zombie until reaped, so the group id cannot have been reused yet.
    ::kill(-pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    wait_status_ = status;
    return finish();
  }

 private:
  void spawn(const std::string& command, const ParamMap& params) {
    Fd child_in, child_out, child_err;
    make_pipe(child_in, in_);
    make_pipe(out_, child_out);
    make_pipe(err_, child_err);
    const std::vector<std::string> env = child_environment(params);
    std::vector<char*> envp;
    for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    std::string sh = "sh", dash_c = "-c", cmd = command;
    char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, child_in.fd, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, child_out.fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, child_err.fd, STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Own process group (so a stop reaches every process of the objective), no inherited signal
    // mask, default SIGPIPE/SIGTERM/SIGINT even when we ignore them.
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&attr, &empty);
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    const int rc = posix_spawn(&pid_, "/bin/sh", &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      throw Error(std::string("cannot start the objective command with /bin/sh: ") +
                  std::strerror(rc) + "; check that /bin/sh exists and processes can be created");
    }
    for (int fd : {in_.fd, out_.fd, err_.fd}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }

  void poll_once() {
    std::array<pollfd, 3> fds{};
    nfds_t n = 0;
    const bool want_in = in_.open() && stdin_written_ < stdin_data_.size();
    if (want_in) fds[n++] = {in_.fd, POLLOUT, 0};
    if (out_.open()) fds[n++] = {out_.fd, POLLIN, 0};
    if (err_.open()) fds[n++] = {err_.fd, POLLIN, 0};
    if (n == 0) {
      ::poll(nullptr, 0, kPollMs);
      return;
    }
    if (::poll(fds.data(), n, kPollMs) <= 0) return;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_.fd) {
        write_stdin();
      } else {
        read_from(fds[i].fd == out_.fd ? out_ : err_);
      }
    }
  }

  void write_stdin() {
    const ssize_t w =
        ::write(in_.fd, stdin_data_.data() + stdin_written_, stdin_data_.size() - stdin_written_);
    if (w > 0) stdin_written_ += static_cast<size_t>(w);
    // Done, or the objective closed its stdin without reading it (EPIPE): that is its choice.
    if (stdin_written_ == stdin_data_.size() || (w < 0 && errno != EAGAIN && errno != EINTR)) {
      in_.close();
    }
  }

  void read_from(Fd& fd) {
    std::array<char, 65536> buf;
    const ssize_t r = ::read(fd.fd, buf.data(), buf.size());
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      fd.close();
      return;
    }
    if (r < 0) return;
    const std::string_view chunk(buf.data(), static_cast<size_t>(r));
    if (&fd == &err_) {
      stderr_tail_.append(chunk);
      const size_t keep = options_.stderr_tail_bytes;
      if (stderr_tail_.size() > 2 * keep) stderr_tail_.erase(0, stderr_tail_.size() - keep);
      return;
    }
    for (char c : chunk) {
      if (c != '\n') {
        pending_line_ += c;
        continue;
      }
      handle_line(pending_line_);
      pending_line_.clear();
    }
  }

  void handle_line(const std::string& line) {
    if (ignore_output_) return;  // output after a prune decision or a bad report line
    const std::string_view t = trim(line);
    if (t.empty()) return;
    last_line_ = std::string(t);
    if (t.substr(0, 6) == "report" &&
        (t.size() == 6 || std::isspace(static_cast<unsigned char>(t[6])))) {
      handle_report(t);
      return;
    }
    if (const auto v = parse_double(t)) value_ = v;
  }

  void handle_report(std::string_view line) {
    std::vector<std::string> tokens;
    for (const std::string& tok : split(std::string(line.substr(6)), ' ')) {
      if (!trim(tok).empty()) tokens.emplace_back(trim(tok));
    }
    const auto step = tokens.size() == 2 ? parse_int(tokens[0]) : std::nullopt;
    const auto value = tokens.size() == 2 ? parse_double(tokens[1]) : std::nullopt;
    if (!step || *step < 0 || !value) {
      bad_report_ = "malformed report line '" + std::string(line) +
                    "'; print 'report <step> <value>' with an integer step >= 0 and a number";
      stop(bad_report_);
      return;
    }
    ++result_.reports;
    if (on_report_(*step, *value) == Decision::kPrune) {
      pruned_ = true;
      stop("pruned at step " + std::to_string(*step) + " (value " + format_value(*value) + ")");
    }
  }

  // SIGTERM to the whole group now, SIGKILL after the grace period (see wait()). A non-empty
  // `why` (prune, bad report line) also stops reading the output.
  // Exited without being reaped (WNOWAIT keeps the zombie and with it the process group id).
  bool has_exited() {
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid_;
  }

  void stop(const std::string& why) {
    if (!why.empty() && !ignore_output_) {
      ignore_output_ = true;
      stop_reason_ = why;
    }
    if (stopping_) return;
    stopping_ = true;
    stop_time_ = Clock::now();
    ::kill(-pid_, SIGTERM);  // ESRCH when nothing is left: fine
  }

  ObjectiveResult finish() {
    const std::string tail =
        one_line(stderr_tail_.size() > options_.stderr_tail_bytes
                     ? stderr_tail_.substr(stderr_tail_.size() - options_.stderr_tail_bytes)
                     : stderr_tail_);
    const std::string with_tail = tail.empty() ? "" : "; stderr: " + tail;
    if (pruned_) {
      result_.status = ObjectiveStatus::kPruned;
      result_.message = stop_reason_;
      return result_;
    }
    result_.status = ObjectiveStatus::kFailed;
    if (!bad_report_.empty()) {
      result_.message = bad_report_;
    } else if (!WIFEXITED(wait_status_) || WEXITSTATUS(wait_status_) != 0) {
      result_.message = "objective " + describe_exit(wait_status_) + with_tail;
    } else if (!value_) {
      result_.message =
          "objective printed no number on stdout (its last line that is a number "
          "is the value; last line: '" +
          last_line_ + "')" + with_tail;
    } else if (!std::isfinite(*value_)) {
      result_.message =
          "objective value is " + format_value(*value_) + ", not a finite number" + with_tail;
    } else {
      result_.status = ObjectiveStatus::kComplete;
      result_.value = value_;
    }
    return result_;
  }

  const ReportHandler& on_report_;
  const ObjectiveOptions& options_;
  pid_t pid_ = -1;
  Fd in_, out_, err_;
  std::string stdin_data_;
  size_t stdin_written_ = 0;
  std::string pending_line_, last_line_, stderr_tail_;
  std::optional<double> value_;
  bool exited_ = false, stopping_ = false, killed_ = false, pruned_ = false;
  bool ignore_output_ = false;
  int wait_status_ = 0;
  Clock::time_point stop_time_, kill_time_;
  std::string stop_reason_, bad_report_;
  ObjectiveResult result_;
};

}  // namespace

std::string param_env_name(const std::string& param) {
  std::string name(kEnvPrefix);
  for (char c : param) {
    const auto u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_';
  }
  return name;
}

ObjectiveResult run_objective(const std::string& command, const ParamMap& params,
                              const ReportHandler& on_report, const ObjectiveOptions& options) {
  SigpipeBlock block_sigpipe;
  ObjectiveProcess process(command, params, on_report, options);
  return process.wait();
}

}  // namespace pixelrec::hpo
