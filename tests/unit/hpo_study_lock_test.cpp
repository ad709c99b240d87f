// One writer per study: a second lock on the same study is refused and names the holder; the lock
// is released when its holder ends, kill -9 included (the OS drops a dead process's flock).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/errors.h"
#include "hpo/study_lock.h"
#include "support/test_support.h"

namespace pixelrec::hpo {
namespace {

TEST(HpoStudyLock, ASecondWriterIsRefusedAndNamesTheHolder) {
  test::ScratchDir dir("hpo_lock");
  const auto db = dir / "study.db";
  {
    StudyLock first(db);
    try {
      StudyLock second(db);
      FAIL() << "two writers on one study";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("is in use by pid " + std::to_string(::getpid())), std::string::npos)
          << what;
      EXPECT_NE(what.find("stop that one first"), std::string::npos) << what;
    }
  }
  StudyLock again(db);  // released with the first
  EXPECT_EQ(again.path(), dir / "study.db.lock");
}

TEST(HpoStudyLock, AKilledHolderReleasesTheStudy) {
  test::ScratchDir dir("hpo_lock_kill");
  const auto db = dir / "study.db";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    StudyLock held(db);
    const char ok = 'y';
    [[maybe_unused]] const ssize_t n = ::write(ready[1], &ok, 1);
    ::pause();  // until killed
    ::_exit(0);
  }
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  EXPECT_THROW(StudyLock busy(db), Error);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  StudyLock after(db);  // no stale lock to clean up by hand
  ::close(ready[0]);
  ::close(ready[1]);
}

}  // namespace
}  // namespace pixelrec::hpo
