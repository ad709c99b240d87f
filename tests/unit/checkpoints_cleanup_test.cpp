// `checkpoints cleanup`: keep best + last + the N most recent epoch checkpoints per run, delete
// the rest with their sidecars, report bytes freed; runs without an intact best/last and files
// with problems are never touched; --dry-run deletes nothing.
#include <gtest/gtest.h>

#include <sstream>

#include "checkpoints/cleanup.h"
#include "checkpoints_test_fixture.h"
#include "core/errors.h"
#include "core/strings.h"

namespace pixelrec::checkpoints {
namespace {

using test::ScratchDir;
using testing::error_of;
using testing::write_run;

std::vector<std::string> removed(const CleanupPlan& plan) {
  std::vector<std::string> out;
  for (const auto& r : plan.removals) out.push_back(r.checkpoint.string());
  return out;
}

TEST(CheckpointsCleanup, KeepRecentArithmetic) {
  ScratchDir dir("ckpt_cleanup_plan");
  write_run(dir.path(), "demo", 5, 2);
  const Catalogue catalogue = scan_catalogue(dir.path(), 1);
  EXPECT_EQ(
      removed(plan_cleanup(catalogue, "", 0)),
      (std::vector<std::string>{"demo/epoch_0001.pt", "demo/epoch_0002.pt", "demo/epoch_0003.pt",
                                "demo/epoch_0004.pt", "demo/epoch_0005.pt"}));
  const CleanupPlan two = plan_cleanup(catalogue, "", 2);
  EXPECT_EQ(removed(two), (std::vector<std::string>{"demo/epoch_0001.pt", "demo/epoch_0002.pt",
                                                    "demo/epoch_0003.pt"}));
  ASSERT_EQ(two.kept.size(), 1u);
  EXPECT_EQ(two.kept[0], "run demo: keeping best.pt, last.pt, epoch_0005.pt, epoch_0004.pt");
  EXPECT_TRUE(removed(plan_cleanup(catalogue, "", 5)).empty());
  EXPECT_TRUE(removed(plan_cleanup(catalogue, "", 9)).empty());
  EXPECT_THROW(plan_cleanup(catalogue, "", -1), UsageError);
}

TEST(CheckpointsCleanup, DeletesCheckpointsWithSidecarsAndReportsBytesFreed) {
  ScratchDir dir("ckpt_cleanup");
  write_run(dir.path(), "demo", 3, 2, 4000);
  write_run(dir.path(), "keep", 2, 1, 100);
  const uint64_t sidecars = fs::file_size(dir / "demo/epoch_0001.meta.json") +
                            fs::file_size(dir / "demo/epoch_0002.meta.json");
  std::ostringstream out;
  const CleanupPlan plan = cleanup_checkpoints(dir.path(), {"demo", 1, false, 1}, out);
  EXPECT_FALSE(fs::exists(dir / "demo/epoch_0001.pt"));
  EXPECT_FALSE(fs::exists(dir / "demo/epoch_0001.meta.json"));
  EXPECT_FALSE(fs::exists(dir / "demo/epoch_0002.pt"));
  EXPECT_TRUE(fs::exists(dir / "demo/epoch_0003.pt"));
  EXPECT_TRUE(fs::exists(dir / "demo/best.pt"));
  EXPECT_TRUE(fs::exists(dir / "demo/last.meta.json"));
  EXPECT_TRUE(fs::exists(dir / "keep/epoch_0001.pt"));  // other runs untouched with --run
  const uint64_t freed = 2 * 4000 + sidecars;
  EXPECT_EQ(plan.bytes_freed(), freed);
  const std::string text = out.str();
  EXPECT_NE(text.find("remove demo/epoch_0001.pt and demo/epoch_0001.meta.json"), std::string::npos)
      << text;
  EXPECT_NE(text.find("freed " + human_bytes(static_cast<double>(freed)) + " (" +
                      std::to_string(freed) + " bytes) in 2 checkpoints"),
            std::string::npos)
      << text;
}

TEST(CheckpointsCleanup, DryRunDeletesNothing) {
  ScratchDir dir("ckpt_cleanup_dry");
  write_run(dir.path(), "demo", 3, 2);
  const auto before = test::read_tree(dir.path());
  std::ostringstream out;
  const CleanupPlan plan = cleanup_checkpoints(dir.path(), {"", 0, true, 1}, out);
  EXPECT_EQ(plan.removals.size(), 3u);
  EXPECT_EQ(test::read_tree(dir.path()), before);
  EXPECT_NE(out.str().find("would remove demo/epoch_0003.pt"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("would free"), std::string::npos);
}

TEST(CheckpointsCleanup, RunWithoutIntactBestOrLastKeepsEverythingAndWarns) {
  ScratchDir dir("ckpt_cleanup_keep");
  write_run(dir.path(), "nobest", 3, 2);
  fs::remove(dir / "nobest/best.pt");
  fs::remove(dir / "nobest/best.meta.json");
  write_run(dir.path(), "tornlast", 3, 2);
  test::write_text(dir / "tornlast/last.pt", "truncated");
  write_run(dir.path(), "tornepoch", 3, 2);
  test::write_text(dir / "tornepoch/epoch_0001.pt", "truncated");
  const CleanupPlan plan = plan_cleanup(scan_catalogue(dir.path(), 1), "", 0);
  // Only tornepoch's two intact epoch files go; its torn one stays.
  EXPECT_EQ(removed(plan),
            (std::vector<std::string>{"tornepoch/epoch_0002.pt", "tornepoch/epoch_0003.pt"}));
  const std::string warnings = testing::join_lines(plan.warnings);
  EXPECT_NE(warnings.find("run nobest has no intact best.pt: keeping all its checkpoints"),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find("run tornlast has no intact last.pt"), std::string::npos);
  EXPECT_NE(warnings.find("keeping tornlast/last.pt: size_mismatch"), std::string::npos);
  EXPECT_NE(warnings.find("keeping tornepoch/epoch_0001.pt: size_mismatch"), std::string::npos);
}

TEST(CheckpointsCleanup, UnknownRunIsAnError) {
  ScratchDir dir("ckpt_cleanup_unknown");
  write_run(dir.path(), "demo", 1, 1);
  EXPECT_NE(
      error_of([&] { plan_cleanup(scan_catalogue(dir.path(), 1), "nope", 0); }).find("runs: demo"),
      std::string::npos);
}

}  // namespace
}  // namespace pixelrec::checkpoints
