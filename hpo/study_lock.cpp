#include "hpo/study_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/errors.h"
#include "core/host.h"
#include "core/text_formats.h"

namespace pixelrec::hpo {
namespace {

std::string read_holder(int fd) {
  char buffer[512] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string text = n > 0 ? std::string(buffer, size_t(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text.empty() ? "an unknown process" : text;
}

}  // namespace

StudyLock::StudyLock(const std::filesystem::path& storage_path)
    : path_(storage_path.string() + ".lock") {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0)
    throw Error("cannot open the study lock " + path_.string() + ": " + std::strerror(errno) +
                " (check the study folder's permissions)");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = read_holder(fd_);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw Error("the study " + storage_path.string() + " is in use by " + holder +
                  "; one process writes a study at a time: stop that one first (its lock is "
                  "released when it exits), or use another study_name or storage");
    throw Error("cannot lock " + path_.string() + ": " + std::strerror(error) +
                " (a study on NFS or Lustre may not support flock: keep study.db on a local "
                "disk)");
  }
  const std::string holder = "pid " + std::to_string(::getpid()) + " on " + host_name() +
                             " since " + utc_now_iso8601() + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    // Informational only: a short write leaves the lock itself intact.
    [[maybe_unused]] const ssize_t written = ::pwrite(fd_, holder.data(), holder.size(), 0);
  }
}

StudyLock::~StudyLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace pixelrec::hpo
