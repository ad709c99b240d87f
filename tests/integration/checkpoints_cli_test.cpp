// The checkpoint manager on checkpoints written by real training: `pixelrec train` leaves a JSON
// sidecar beside every checkpoint (last, best, epoch_<E> with training.checkpoint_every_epochs),
// and list / cleanup / archive / inspect work on them through the `pixelrec` front door.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/strings.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

const char* kYaml =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  epochs: 3\n"
    "  batch_size: 256\n"
    "  num_workers: 1\n"
    "  checkpoint_every_epochs: 1\n"
    "  early_stopping_metric: val_ndcg@10\n";

TEST(CheckpointsCli, SidecarsFromTrainingListCleanUpAndArchive) {
  ScratchDir dir("checkpoints_cli");
  const Pipeline p = make_tiny_pipeline(dir.path(), kYaml);
  for (const char* step : {"cache", "train --no-progress --run-name r"}) {
    const auto r = run_pixelrec(std::string(step) + " " + p.config_arg() + " --log-level warn");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const fs::path run_dir = dir.path() / "checkpoints/r";
  // Sidecars agree with the run: last is epoch 3, epoch_0002 is epoch 2, best is the best epoch.
  const auto last = nlohmann::json::parse(read_text(run_dir / "last.meta.json"));
  EXPECT_EQ(last["format"], "pixelrec-checkpoint-meta");
  EXPECT_EQ(last["kind"], "last");
  EXPECT_EQ(last["epoch"], 3);
  EXPECT_EQ(last["finished"], true);
  EXPECT_EQ(last["bytes"].get<uintmax_t>(), fs::file_size(run_dir / "last.pt"));
  EXPECT_EQ(last["monitored_metric"], "val_ndcg@10");
  EXPECT_GT(last["model"]["parameters"].get<int64_t>(), 0);
  const auto metrics_lines = split(read_text(dir.path() / "results/r/metrics.jsonl"), '\n');
  const auto epoch3 = nlohmann::json::parse(metrics_lines[2]);
  EXPECT_DOUBLE_EQ(last["metrics"]["val_ndcg@10"].get<double>(),
                   epoch3["val_ndcg@10"].get<double>());
  const auto epoch2 = nlohmann::json::parse(read_text(run_dir / "epoch_0002.meta.json"));
  EXPECT_EQ(epoch2["kind"], "epoch");
  EXPECT_EQ(epoch2["epoch"], 2);
  const auto best = nlohmann::json::parse(read_text(run_dir / "best.meta.json"));
  EXPECT_EQ(best["epoch"].get<int>(), best["best_epoch"].get<int>() + 1);

  const auto listed = run_pixelrec("checkpoints list --format json " + p.config_arg());
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  const auto list = nlohmann::json::parse(listed.output.substr(listed.output.find('{')));
  std::map<std::string, int> epochs;
  for (const auto& c : list["checkpoints"]) {
    EXPECT_EQ(c["status"], "ok") << c.dump();
    epochs[c["file"].get<std::string>()] = c["epoch"].get<int>();
  }
  EXPECT_EQ(epochs.size(), 5u) << listed.output;  // last, best, epoch_0001..3
  EXPECT_EQ(epochs["r/epoch_0001.pt"], 1) << listed.output;
  EXPECT_EQ(epochs["r/last.pt"], 3);

  // cleanup keeps best, last and the most recent epoch checkpoint.
  const auto dry =
      run_pixelrec("checkpoints cleanup --run r --keep-recent 1 --dry-run " + p.config_arg());
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_TRUE(fs::exists(run_dir / "epoch_0001.pt"));
  const auto cleaned =
      run_pixelrec("checkpoints cleanup --run r --keep-recent 1 " + p.config_arg());
  ASSERT_EQ(cleaned.exit_code, 0) << cleaned.output;
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(run_dir)) left.insert(e.path().filename().string());
  EXPECT_EQ(left, (std::set<std::string>{"best.pt", "best.meta.json", "last.pt", "last.meta.json",
                                         "epoch_0003.pt", "epoch_0003.meta.json"}));

  const fs::path archive = dir.path() / "r.tar.gz";
  const auto archived = run_pixelrec("checkpoints archive --run r --output " +
                                     shell_quote(archive.string()) + " " + p.config_arg());
  ASSERT_EQ(archived.exit_code, 0) << archived.output;
  const auto names = run_command("tar -tzf " + shell_quote(archive.string()));
  ASSERT_EQ(names.exit_code, 0) << names.output;
  for (const char* name : {"r/best.pt", "r/last.pt", "r/MANIFEST.json", "r/metrics.jsonl"})
    EXPECT_NE(names.output.find(name), std::string::npos) << name << "\n" << names.output;

  // inspect still reaches the LibTorch binary through the same front door.
  const auto inspected =
      run_pixelrec("checkpoints inspect " + shell_quote((run_dir / "last.pt").string()));
  ASSERT_EQ(inspected.exit_code, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("epoch:               3"), std::string::npos) << inspected.output;
  // One row per tensor with its shape and norms: the embedding tables are D = 16 wide.
  EXPECT_NE(inspected.output.find("L2 norm"), std::string::npos) << inspected.output;
  const auto row = inspected.output.find("item_embedding");
  ASSERT_NE(row, std::string::npos) << inspected.output;
  EXPECT_NE(inspected.output.substr(row, 80).find("x16 "), std::string::npos) << inspected.output;
}

}  // namespace
}  // namespace pixelrec::test
