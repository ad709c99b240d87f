// The finished-study marker a coordinator leaves for worker groups that start after it has gone.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/files.h"
#include "hpo/coordinator_client.h"
#include "hpo/study_finished_marker.h"
#include "support/test_support.h"

namespace pixelrec::hpo {
namespace {

using namespace std::chrono_literals;
using test::ScratchDir;

TEST(StudyFinishedMarker, RoundTripsAndIsAbsentUntilWrittenAndAfterRemoval) {
  ScratchDir dir("finished_marker");
  EXPECT_FALSE(read_finished_marker(dir.path()).has_value());
  write_finished_marker(dir.path(), {"s", 20, 23, "2026-12-07T02:00:00Z"});
  const auto read = read_finished_marker(dir.path());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->study, "s");
  EXPECT_EQ(read->n_trials, 20);
  EXPECT_EQ(read->trials, 23);
  EXPECT_EQ(read->finished_at, "2026-12-07T02:00:00Z");
  remove_finished_marker(dir.path());
  EXPECT_FALSE(read_finished_marker(dir.path()).has_value());
  remove_finished_marker(dir.path());  // absent already: nothing to do
}

TEST(StudyFinishedMarker, AFileThatIsNotOneIsAnErrorNamingIt) {
  ScratchDir dir("finished_marker_bad");
  for (const char* text : {"not json", "[]", R"({"study": "s", "n_trials": "20", "trials": 3})",
                           R"({"study": "s", "trials": 3})"}) {
    SCOPED_TRACE(text);
    write_file_atomic(dir / "study_finished.json", text);
    try {
      read_finished_marker(dir.path());
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("study_finished.json: not a finished-study marker"),
                std::string::npos)
          << e.what();
    }
  }
}

// A client whose rediscovery finds the study finished gives up at once instead of retrying until
// its connect deadline, and says why.
TEST(StudyFinishedMarker, AClientWhoseStudyFinishedStopsRetryingAtOnce) {
  ClientOptions options;
  options.address = "127.0.0.1:1";
  options.connect_deadline = 30s;
  int calls = 0;
  options.rediscover = [&calls]() -> CoordinatorEndpoint {
    if (++calls < 3) throw Error("coordinator.json: not written yet");
    throw StudyAlreadyFinished({"s", 4, 4, "2026-12-07T02:00:00Z"});
  };
  const auto start = std::chrono::steady_clock::now();
  try {
    CoordinatorClient client(options);
    ADD_FAILURE() << "connected";
  } catch (const StudyAlreadyFinished& e) {
    EXPECT_EQ(e.finished().trials, 4);
    EXPECT_NE(std::string(e.what()).find("study 's' finished (4 trials, n_trials 4)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(calls, 3);  // the two failures before were retried
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace pixelrec::hpo
