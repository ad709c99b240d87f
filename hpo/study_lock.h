// One writer per study: an exclusive flock on `<study.db>.lock`, held for the writer's life and
// released by the OS when its process ends (crash and kill -9 included), so a second coordinator
// (or `hpo run`) on the same study is refused instead of interleaving trials with the first.
#pragma once

#include <filesystem>
#include <string>

namespace pixelrec::hpo {

class StudyLock {
 public:
  // Throws Error naming the holder (pid, host, start time from the lock file) when another
  // process holds the study's lock.
  explicit StudyLock(const std::filesystem::path& storage_path);
  ~StudyLock();
  StudyLock(const StudyLock&) = delete;
  StudyLock& operator=(const StudyLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace pixelrec::hpo
