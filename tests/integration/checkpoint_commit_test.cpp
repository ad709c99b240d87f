// A checkpoint and its sidecar are committed so that a crash between the two writes is recovered
// on the next start: `checkpoints list` shows what the checkpoint holds, and `train --resume last`
// completes or undoes the interrupted commit, or rewrites a missing or stale sidecar from the
// checkpoint. The crash states are made from the files of a real 2-epoch run. The trainer's
// next start also removes the temp files a crashed writer left in its run folders.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/hash.h"
#include "core/temp_files.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

using nlohmann::json;

const char* kYaml =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  epochs: 2\n"
    "  batch_size: 256\n"
    "  num_workers: 1\n"
    "  checkpoint_every_epochs: 1\n"
    "  early_stopping_metric: val_ndcg@10\n";

class CheckpointCommit : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("checkpoint_commit");
    pipeline_ = new Pipeline(make_cached_tiny_pipeline(dir_->path(), kYaml));
    const auto r = run_pixelrec("train --no-progress --run-name r " + pipeline_->config_arg() +
                                " --log-level warn");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete pipeline_;
    delete dir_;
  }
  void SetUp() override {
    // Each test starts from the finished run: last.pt (epoch 2) with its sidecar.
    if (original_last_.empty()) {
      original_last_ = read_text(run() / "last.pt");
      original_sidecar_ = read_text(run() / "last.meta.json");
      epoch1_ = read_text(run() / "epoch_0001.pt");
      // What last.meta.json held after epoch 1.
      json old = json::parse(read_text(run() / "epoch_0001.meta.json"));
      old["file"] = "last.pt";
      old["kind"] = "last";
      old_sidecar_ = old.dump(2);
    }
    write_text(run() / "last.pt", original_last_);
    write_text(run() / "last.meta.json", original_sidecar_);
    fs::remove(pending());
  }
  static fs::path run() { return dir_->path() / "checkpoints" / "r"; }
  static fs::path pending() { return run() / ".last.meta.json.next"; }
  CommandResult resume() {
    return run_pixelrec("train --no-progress --run-name r --resume last " +
                        pipeline_->config_arg());
  }
  json listed_last() {
    const auto r = run_pixelrec("checkpoints list --format json " + pipeline_->config_arg());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const json list = json::parse(r.output.substr(r.output.find('{')));
    for (const auto& c : list["checkpoints"])
      if (c["file"] == "r/last.pt") return c;
    ADD_FAILURE() << r.output;
    return json();
  }
  // The sidecar's content_hash of checkpoint bytes (core/hash.h).
  static std::string checkpoint_hash(const std::string& bytes) { return Hasher().add(bytes).hex(); }
  // The sidecar fields that describe the checkpoint (all but when it was written).
  static json described(json sidecar) {
    sidecar.erase("saved_at");
    return sidecar;
  }

  static ScratchDir* dir_;
  static Pipeline* pipeline_;
  static std::string original_last_, original_sidecar_, epoch1_, old_sidecar_;
};
ScratchDir* CheckpointCommit::dir_ = nullptr;
Pipeline* CheckpointCommit::pipeline_ = nullptr;
std::string CheckpointCommit::original_last_, CheckpointCommit::original_sidecar_,
    CheckpointCommit::epoch1_, CheckpointCommit::old_sidecar_;

// Crash after the checkpoint was replaced, before its pending sidecar was renamed into place.
TEST_F(CheckpointCommit, ACrashAfterTheCheckpointIsCompletedOnTheNextStart) {
  const json sidecar = json::parse(original_sidecar_);
  ASSERT_TRUE(sidecar.contains("content_hash")) << original_sidecar_;
  EXPECT_EQ(sidecar["content_hash"].get<std::string>().size(), 16u);
  EXPECT_NE(sidecar["content_hash"], json::parse(old_sidecar_)["content_hash"]);

  write_text(run() / "last.meta.json", old_sidecar_);
  write_text(pending(), original_sidecar_);
  const json listed = listed_last();
  EXPECT_EQ(listed["status"], "ok") << listed;
  EXPECT_EQ(listed["epoch"], 2) << listed;
  EXPECT_EQ(listed["global_step"], json::parse(original_sidecar_)["global_step"]) << listed;

  const auto r = resume();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("interrupted its commit after the checkpoint was written"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(pending()));
  EXPECT_EQ(read_text(run() / "last.meta.json"), original_sidecar_);
  EXPECT_EQ(read_text(run() / "last.pt"), original_last_);
}

// Crash after the pending sidecar was written, before the checkpoint was replaced: the previous
// pair stays, and the resumed run trains epoch 2 again.
TEST_F(CheckpointCommit, ACrashBeforeTheCheckpointKeepsThePreviousPair) {
  write_text(run() / "last.pt", epoch1_);
  write_text(run() / "last.meta.json", old_sidecar_);
  write_text(pending(), original_sidecar_);
  const json listed = listed_last();
  EXPECT_EQ(listed["status"], "ok") << listed;
  EXPECT_EQ(listed["epoch"], 1) << listed;

  const auto r = resume();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("interrupted its commit before the checkpoint was replaced"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("epoch 2/2"), std::string::npos) << r.output;  // trained again
  EXPECT_FALSE(fs::exists(pending()));
  const json after = json::parse(read_text(run() / "last.meta.json"));
  EXPECT_EQ(after["epoch"], 2);
  EXPECT_EQ(after["global_step"], json::parse(original_sidecar_)["global_step"]);
  EXPECT_EQ(after["best_value"], json::parse(original_sidecar_)["best_value"]);  // exact resume
  EXPECT_EQ(after["content_hash"].get<std::string>(),
            checkpoint_hash(read_text(run() / "last.pt")));
}

// The checkpoint is new, its sidecar the previous one (no pending sidecar: written by an older
// pixelrec, or copied by hand): the resume rewrites the sidecar from the checkpoint.
TEST_F(CheckpointCommit, AStaleSidecarIsRewrittenFromTheCheckpoint) {
  write_text(run() / "last.meta.json", old_sidecar_);
  const auto r = resume();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json original = json::parse(original_sidecar_);
  const std::string steps = "the sidecar records epoch 1 step " +
                            json::parse(old_sidecar_)["global_step"].dump() +
                            ", the checkpoint holds epoch 2 step " +
                            original["global_step"].dump() + "; rewrote it from the checkpoint";
  EXPECT_NE(r.output.find(steps), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("epoch 2/2"), std::string::npos) << r.output;  // nothing to train
  EXPECT_EQ(described(json::parse(read_text(run() / "last.meta.json"))), described(original));
}

TEST_F(CheckpointCommit, AMissingSidecarIsRewrittenFromTheCheckpoint) {
  fs::remove(run() / "last.meta.json");
  EXPECT_EQ(listed_last()["status"], "missing_sidecar");
  const auto r = resume();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("the sidecar is missing; rewrote it from the checkpoint (epoch 2, step " +
                          json::parse(original_sidecar_)["global_step"].dump() + ")"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(described(json::parse(read_text(run() / "last.meta.json"))),
            described(json::parse(original_sidecar_)));
  const json listed = listed_last();
  EXPECT_EQ(listed["status"], "ok") << listed;
  EXPECT_EQ(listed["epoch"], 2) << listed;
}

// The reverse: the sidecar is newer than the checkpoint (epoch 2 vs epoch 1).
TEST_F(CheckpointCommit, ASidecarNewerThanTheCheckpointIsRewrittenBeforeTraining) {
  write_text(run() / "last.pt", epoch1_);
  const auto r = resume();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string stale =
      "the sidecar records epoch 2 step " + json::parse(original_sidecar_)["global_step"].dump() +
      ", the checkpoint holds epoch 1 step " + json::parse(old_sidecar_)["global_step"].dump();
  const size_t rewritten = r.output.find(stale);
  EXPECT_NE(rewritten, std::string::npos) << r.output;
  EXPECT_LT(rewritten, r.output.find("epoch 2/2")) << r.output;
  const json after = json::parse(read_text(run() / "last.meta.json"));
  const json original = json::parse(original_sidecar_);
  for (const char* field : {"epoch", "global_step", "best_epoch", "best_value", "finished"})
    EXPECT_EQ(after[field], original[field]) << field;
  EXPECT_EQ(after["content_hash"].get<std::string>(),
            checkpoint_hash(read_text(run() / "last.pt")));
}

TEST_F(CheckpointCommit, TheTrainerRemovesTheTempFilesOfACrashedWriter) {
  const std::string host = temp_host_name();
  const std::string dead = "4194999";  // above any pid_max: no such process
  const fs::path results = dir_->path() / "results" / "r";
  const std::vector<fs::path> stale = {run() / (".last.pt.tmp." + dead + ".0." + host),
                                       results / (".metrics.csv.tmp." + dead + ".3")};
  const fs::path live = run() / (".last.pt.tmp." + std::to_string(::getpid()) + ".0." + host);
  for (const auto& path : stale) write_text(path, "left by a crash");
  write_text(live, "being written by a live process");
  const auto r = resume();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& path : stale) EXPECT_FALSE(fs::exists(path)) << path;
  EXPECT_TRUE(fs::exists(live));
  fs::remove(live);
  for (const fs::path& folder : {results, run()})
    EXPECT_NE(r.output.find("removed 1 temp file(s) left in " + folder.string() +
                            " by a writer that crashed"),
              std::string::npos)
        << r.output;
}

}  // namespace
}  // namespace pixelrec::test
