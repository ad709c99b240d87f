// `checkpoints organize`: flat copies move into their run folder with their sidecars, clashes are
// errors that change nothing, --dry-run changes nothing, and by_model/ links plus index.json are
// rebuilt from the sidecars.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "checkpoints/organize.h"
#include "checkpoints_test_fixture.h"

namespace pixelrec::checkpoints {
namespace {

using test::ScratchDir;
using testing::error_of;
using testing::FakeCheckpoint;
using testing::write_checkpoint;
using testing::write_run;

TEST(CheckpointsOrganize, SignatureNamesFusionDimensionAndModalities) {
  ModelSummary m{"concat", 64, "builtin", "builtin", true, 1};
  EXPECT_EQ(model_signature(m), "concat-d64-image+text");
  m.language_model = "none";
  EXPECT_EQ(model_signature(m), "concat-d64-image");
  m.vision_model = "none";
  m.language_model = "import:/x/y.npy";
  m.fusion_type = "gated";
  m.embedding_dim = 128;
  EXPECT_EQ(model_signature(m), "gated-d128-text");
  m.language_model = "";
  m.fusion_type = "a b/c";
  EXPECT_EQ(model_signature(m), "a_b_c-d128-ids");
}

// A checkpoint dir with one organized run and a flat copy of another run (the reference's layout).
void write_mixed_layout(const fs::path& dir) {
  write_run(dir, "demo", 1, 1);
  FakeCheckpoint flat;
  flat.run = "flat";
  flat.fusion = "attention";
  flat.dim = 32;
  flat.kind = "best";
  write_checkpoint(dir, "best.pt", flat);
  flat.kind = "last";
  write_checkpoint(dir / "old" / "copies", "last.pt", flat);
  test::write_text(dir / "orphan.pt", "no sidecar, so no run");
}

TEST(CheckpointsOrganize, DryRunPrintsEveryActionAndChangesNothing) {
  ScratchDir dir("ckpt_organize_dry");
  write_mixed_layout(dir.path());
  const auto before = test::read_tree(dir.path());
  std::ostringstream out;
  const OrganizeResult result = organize_checkpoints(dir.path(), {true, 1}, out);
  EXPECT_EQ(test::read_tree(dir.path()), before);
  EXPECT_FALSE(fs::exists(dir / "by_model"));
  EXPECT_FALSE(fs::exists(dir / "index.json"));
  EXPECT_EQ(result.moved, 0u);
  const std::string text = out.str();
  EXPECT_NE(text.find("would move best.pt -> flat/best.pt (with best.meta.json)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("would move old/copies/last.pt -> flat/last.pt"), std::string::npos);
  EXPECT_NE(text.find("would link by_model/attention-d32-image+text/flat -> ../../flat"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("would link by_model/concat-d64-image+text/demo -> ../../demo"),
            std::string::npos);
  EXPECT_NE(text.find("leave orphan.pt: missing_sidecar"), std::string::npos);
  EXPECT_NE(text.find("would write index.json (2 runs, 1 problems)"), std::string::npos) << text;
}

TEST(CheckpointsOrganize, MovesFlatCopiesAndBuildsTheView) {
  ScratchDir dir("ckpt_organize");
  write_mixed_layout(dir.path());
  const std::string best_bytes = test::read_text(dir / "best.pt");
  std::ostringstream out;
  const OrganizeResult result = organize_checkpoints(dir.path(), {false, 2}, out);
  EXPECT_EQ(result.moved, 2u);
  EXPECT_EQ(result.left_in_place, 1u);
  EXPECT_EQ(result.links, 2u);
  EXPECT_EQ(test::read_text(dir / "flat/best.pt"), best_bytes);
  EXPECT_TRUE(fs::exists(dir / "flat/best.meta.json"));
  EXPECT_TRUE(fs::exists(dir / "flat/last.pt"));
  EXPECT_TRUE(fs::exists(dir / "flat/last.meta.json"));
  EXPECT_FALSE(fs::exists(dir / "best.pt"));
  EXPECT_FALSE(fs::exists(dir / "best.meta.json"));
  EXPECT_FALSE(fs::exists(dir / "old/copies/last.pt"));
  EXPECT_TRUE(fs::exists(dir / "orphan.pt"));

  const fs::path link = dir / "by_model/attention-d32-image+text/flat";
  ASSERT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), fs::path("../../flat"));
  EXPECT_EQ(test::read_text(link / "best.pt"), best_bytes);  // the link resolves
  EXPECT_TRUE(fs::is_symlink(dir / "by_model/concat-d64-image+text/demo"));

  const auto index = nlohmann::json::parse(test::read_text(dir / "index.json"));
  EXPECT_EQ(index["format"], "pixelrec-checkpoint-index");
  EXPECT_EQ(index["by_model"]["attention-d32-image+text"], nlohmann::json::array({"flat"}));
  EXPECT_EQ(index["runs"]["flat"]["checkpoints"].size(), 2u);
  EXPECT_EQ(index["runs"]["flat"]["checkpoints"][0]["file"], "flat/best.pt");
  EXPECT_EQ(index["runs"]["demo"]["checkpoints"].size(), 3u);
  EXPECT_EQ(index["problems"][0]["file"], "orphan.pt");

  // A second run finds nothing to move and rebuilds the same view.
  std::ostringstream again;
  EXPECT_EQ(organize_checkpoints(dir.path(), {false, 1}, again).moved, 0u);
  EXPECT_EQ(again.str().find("move "), std::string::npos) << again.str();
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(nlohmann::json::parse(test::read_text(dir / "index.json")), index);
}

TEST(CheckpointsOrganize, ANameClashIsAnErrorNamingBothFilesAndMovesNothing) {
  ScratchDir dir("ckpt_organize_clash");
  write_run(dir.path(), "demo", 1, 1);
  FakeCheckpoint copy;
  copy.kind = "best";
  write_checkpoint(dir.path(), "best.pt", copy);  // run demo, but demo/best.pt exists
  FakeCheckpoint other;
  other.run = "x";
  write_checkpoint(dir / "a", "last.pt", other);  // no clash on disk, but moved before the error?
  const auto before = test::read_tree(dir.path());
  std::ostringstream out;
  const std::string message = error_of([&] { organize_checkpoints(dir.path(), {false, 1}, out); });
  EXPECT_NE(message.find((dir / "best.pt").string()), std::string::npos) << message;
  EXPECT_NE(message.find((dir / "demo/best.pt").string()), std::string::npos) << message;
  EXPECT_NE(message.find("nothing was moved"), std::string::npos);
  EXPECT_EQ(test::read_tree(dir.path()), before);
}

TEST(CheckpointsOrganize, TwoCopiesBoundForOnePlaceAreAnError) {
  ScratchDir dir("ckpt_organize_twin");
  FakeCheckpoint c;
  write_checkpoint(dir / "a", "last.pt", c);
  write_checkpoint(dir / "b", "last.pt", c);
  std::ostringstream out;
  const std::string message = error_of([&] { organize_checkpoints(dir.path(), {false, 1}, out); });
  EXPECT_NE(message.find((dir / "a/last.pt").string()), std::string::npos) << message;
  EXPECT_NE(message.find((dir / "b/last.pt").string()), std::string::npos) << message;
  EXPECT_NE(message.find("would both move to"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "a/last.pt"));
  EXPECT_FALSE(fs::exists(dir / "demo"));
}

TEST(CheckpointsOrganize, RefusesToDeleteRealFilesInsideTheGeneratedView) {
  ScratchDir dir("ckpt_organize_view");
  write_run(dir.path(), "demo", 1, 1);
  test::write_text(dir / "by_model/notes.txt", "mine");
  std::ostringstream out;
  EXPECT_NE(error_of([&] {
              organize_checkpoints(dir.path(), {false, 1}, out);
            }).find("notes.txt"),
            std::string::npos);
  EXPECT_EQ(test::read_text(dir / "by_model/notes.txt"), "mine");
}

}  // namespace
}  // namespace pixelrec::checkpoints
