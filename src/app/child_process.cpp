#include "app/child_process.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/errors.h"
#include "core/strings.h"

extern char** environ;

namespace pixelrec::app {

namespace fs = std::filesystem;

fs::path self_executable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find this program's path (/proc/self/exe): " + ec.message());
  return self;
}

std::optional<fs::path> find_mpirun() {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  for (const std::string& dir : split(path, ':')) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / "mpirun";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::vector<std::string> launcher_prefix(int ranks) {
  if (ranks <= 1) return {};
  const auto mpirun = find_mpirun();
  if (!mpirun)
    throw UsageError(
        "running " + std::to_string(ranks) +
        " ranks needs mpirun on PATH (Debian: apt install openmpi-bin); or use 1 rank");
  std::vector<std::string> prefix{mpirun->string()};
  if (geteuid() == 0) prefix.push_back("--allow-run-as-root");
  prefix.insert(prefix.end(), {"--oversubscribe", "-np", std::to_string(ranks)});
  return prefix;
}

pid_t spawn_child(const std::vector<std::string>& argv, bool own_group) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  if (own_group) {
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
  }
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], nullptr, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw Error("cannot start " + quoted_command(argv) + ": " + std::strerror(rc));
  return pid;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(std::string("waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

int run_child(const std::vector<std::string>& argv) { return wait_child(spawn_child(argv)); }

std::string quoted_command(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    if (!line.empty()) line += ' ';
    const bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    if (plain) {
      line += a;
      continue;
    }
    line += '\'';
    for (char c : a) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

}  // namespace pixelrec::app
