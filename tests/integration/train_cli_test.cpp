// `pixelrec train` end to end on the tiny generated dataset: run folder and checkpoint files,
// exact resume (after a clean stop and after SIGTERM), and clear errors for bad model settings.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/exactness.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

// A small, fast model; one thread so resumed and straight runs are bitwise comparable.
const char* kTrainYaml =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  batch_size: 128\n"
    "  epochs: 4\n"
    "  num_workers: 1\n"
    "  learning_rate: 0.005\n"
    "evaluation:\n"
    "  num_negatives: 50\n";

// metrics.jsonl without the timing fields, which differ between runs.
std::string metrics_without_timings(const fs::path& jsonl) {
  std::string text = read_text(jsonl);
  static const std::regex timing(",\"(epoch_seconds|train_samples_per_second)\":[-0-9.eE+]+");
  return std::regex_replace(text, timing, "");
}

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>("train_cli");
    pipeline_ = std::make_unique<Pipeline>(make_cached_tiny_pipeline(dir_->path(), kTrainYaml));
  }
  static void TearDownTestSuite() {
    pipeline_.reset();
    dir_.reset();
  }
  static CommandResult train(const std::string& args) {
    return run_pixelrec("train " + pipeline_->config_arg() + " --no-progress " + args);
  }
  static fs::path root() { return dir_->path(); }

  static std::unique_ptr<ScratchDir> dir_;
  static std::unique_ptr<Pipeline> pipeline_;
};
std::unique_ptr<ScratchDir> TrainCli::dir_;
std::unique_ptr<Pipeline> TrainCli::pipeline_;

TEST_F(TrainCli, WritesRunFolderMetricsTensorBoardAndCheckpoints) {
  const auto r = train("--run-name basic --set training.epochs=2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path run = root() / "results" / "basic";
  for (const char* file : {"config.yaml", "train.log", "metrics.jsonl", "metrics.csv"})
    EXPECT_TRUE(fs::exists(run / file)) << file;
  const std::string jsonl = read_text(run / "metrics.jsonl");
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 2);
  EXPECT_NE(jsonl.find("{\"epoch\":0,\"train_loss\":"), std::string::npos) << jsonl;
  EXPECT_NE(jsonl.find("\"val_ndcg@10\":"), std::string::npos);
  EXPECT_NE(jsonl.find("\"val_loss\":"), std::string::npos);
  const std::string csv = read_text(run / "metrics.csv");
  EXPECT_EQ(csv.rfind("epoch,train_loss,train_contrastive,val_loss,val_precision@5", 0), 0u) << csv;
  size_t events = 0;
  for (const auto& entry : fs::directory_iterator(run / "tb"))
    events += entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  EXPECT_EQ(events, 1u);
  EXPECT_TRUE(fs::exists(root() / "checkpoints" / "basic" / "last.pt"));
  EXPECT_TRUE(fs::exists(root() / "checkpoints" / "basic" / "best.pt"));
  EXPECT_NE(read_text(run / "train.log").find("epoch 2/2:"), std::string::npos);
  EXPECT_NE(read_text(run / "config.yaml").find("epochs: 2"), std::string::npos);
  // Unset id dropout is resolved from the split's cold ids, logged and written as trained.
  const std::string log = read_text(run / "train.log");
  std::smatch chosen;
  ASSERT_TRUE(std::regex_search(log, chosen,
                                std::regex("cold rows: model.item_id_dropout ([0-9.]+) \\(([0-9]+) "
                                           "items training never saw\\); model.user_id_dropout "
                                           "([0-9.]+)")))
      << log;
  EXPECT_EQ(chosen[1].str(), chosen[2].str() == "0" ? "0" : "0.1") << log;
  const std::string resolved = read_text(run / "config.yaml");
  EXPECT_NE(resolved.find("item_id_dropout: " + chosen[1].str() + "\n"), std::string::npos)
      << resolved;
  EXPECT_NE(resolved.find("user_id_dropout: " + chosen[3].str() + "\n"), std::string::npos)
      << resolved;

  const auto again = train("--run-name basic --set training.epochs=1");
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.output.find("--resume last"), std::string::npos) << again.output;
  const auto overwrite = train("--run-name basic --set training.epochs=1 --overwrite");
  ASSERT_EQ(overwrite.exit_code, 0) << overwrite.output;
  const std::string rerun = read_text(run / "metrics.jsonl");
  EXPECT_EQ(std::count(rerun.begin(), rerun.end(), '\n'), 1);
}

// training.validation_task full: each epoch's val metrics are the full-ranking val task of the
// model that epoch ends with (what `evaluate --part val --task full` gives for last.pt), not the
// sampled task's.
TEST_F(TrainCli, FullRankingValidationIsTheFullValTaskOfTheEpochsModel) {
  for (const std::string scorer : {"dot", "mlp"}) {
    const std::string run = "full_val_" + scorer;
    // dot pools a recency-weighted history (with its items' content vectors) without the user
    // ID row, which evaluate must rebuild as training did.
    const std::string set =
        " --set model.scorer=" + scorer +
        (scorer == "dot" ? " --set model.user_history=mean --set model.user_history_length=5"
                           " --set model.user_history_decay=0.5"
                           " --set model.user_history_base_weight=0.1"
                           " --set model.user_id_embedding=false"
                           " --set model.user_history_content=true"
                         : "");
    const auto r = train("--run-name " + run + set +
                         " --set training.epochs=1 --set training.validation_task=full");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto epoch = nlohmann::json::parse(read_text(root() / "results" / run / "metrics.jsonl"));
    const fs::path out = root() / (run + "_val.json");
    const auto e = run_pixelrec("evaluate " + pipeline_->config_arg() + set + " --checkpoint " +
                                (root() / "checkpoints" / run / "last.pt").string() +
                                " --part val --task full --output " + out.string());
    ASSERT_EQ(e.exit_code, 0) << e.output;
    const auto full = nlohmann::json::parse(read_text(out)).at("metrics");
    for (const char* metric : {"ndcg@10", "recall@20", "mrr"})
      EXPECT_NEAR(epoch.at(std::string("val_") + metric).get<double>(),
                  full.at(metric).get<double>(), 1e-9)
          << scorer << " " << metric;
    EXPECT_NE(read_text(root() / "results" / run / "config.yaml").find("validation_task: full"),
              std::string::npos);
  }
  const auto bad = train("--run-name bad_val --set training.validation_task=ful");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("training.validation_task"), std::string::npos) << bad.output;
}

// training.validation_task cold_item on an item split (every val item is one training never
// saw): the val metrics are the cold-item task's of the epoch's model.
TEST_F(TrainCli, ColdItemValidationIsTheColdItemValTaskOfTheEpochsModel) {
  const std::string item_split =
      " --set data.splitting.strategy=item --set data.split_data_path=" +
      (root() / "split_item").string() +
      " --set data.cache_config.cache_directory=" + (root() / "cache_item").string();
  for (const char* step : {"split", "cache"}) {
    const auto r = run_pixelrec(std::string(step) + " " + pipeline_->config_arg() + item_split +
                                " --log-level warn");
    ASSERT_EQ(r.exit_code, 0) << step << "\n" << r.output;
  }
  const std::string set = item_split + " --set model.scorer=dot";
  const auto r = train("--run-name cold_val" + set +
                       " --set training.epochs=1 --set training.validation_task=cold_item");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto epoch =
      nlohmann::json::parse(read_text(root() / "results" / "cold_val" / "metrics.jsonl"));
  const fs::path out = root() / "cold_val.json";
  const auto e = run_pixelrec("evaluate " + pipeline_->config_arg() + set + " --checkpoint " +
                              (root() / "checkpoints" / "cold_val" / "last.pt").string() +
                              " --part val --task cold_item --output " + out.string());
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const auto cold = nlohmann::json::parse(read_text(out));
  EXPECT_EQ(cold.at("task").get<std::string>(), "cold_item");
  for (const char* metric : {"ndcg@10", "recall@20", "mrr"})
    EXPECT_NEAR(epoch.at(std::string("val_") + metric).get<double>(),
                cold.at("metrics").at(metric).get<double>(), 1e-9)
        << metric;
}

TEST_F(TrainCli, ResumeAfterTwoEpochsEqualsFourStraightEpochsBitwise) {
  const auto straight = train("--run-name straight");
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  const auto first = train("--run-name resumed --set training.epochs=2");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto second = train("--run-name resumed --resume last");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  ASSERT_FALSE(digest_of(straight.output).empty()) << straight.output;
  EXPECT_EQ(digest_of(second.output), digest_of(straight.output));
  EXPECT_NE(digest_of(first.output), digest_of(straight.output));
  EXPECT_EQ(metrics_without_timings(root() / "results" / "resumed" / "metrics.jsonl"),
            metrics_without_timings(root() / "results" / "straight" / "metrics.jsonl"));
}

TEST_F(TrainCli, SigtermSavesCheckpointAndResumeContinuesExactly) {
  const auto straight = train("--run-name sig-straight --set training.epochs=2");
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  // Stop in the middle of the first epoch (tiny has ~40 steps of 128 positives per epoch).
  const auto stopped = run_command("PIXELREC_TEST_SIGNAL_AFTER_STEPS=7 " +
                                   shell_quote(PIXELREC_BIN) + " train " + pipeline_->config_arg() +
                                   " --no-progress --run-name sig --set training.epochs=2");
  EXPECT_EQ(stopped.exit_code, 128 + 15) << stopped.output;
  EXPECT_NE(stopped.output.find("--resume last"), std::string::npos) << stopped.output;
  EXPECT_TRUE(fs::exists(root() / "checkpoints" / "sig" / "last.pt"));
  const auto resumed = train("--run-name sig --resume last --set training.epochs=2");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(digest_of(resumed.output), digest_of(straight.output));
}

// A run of one epoch resumed for two and stopped inside the second: last.pt's sidecar carries the
// metrics of the last completed epoch (the first), as without the resume, and says the run is
// not finished. It used to carry no metrics (the resumed process had completed no epoch of its
// own) and the first run's finished flag.
TEST_F(TrainCli, AStopAfterAResumeKeepsTheLastEpochsMetricsInTheSidecar) {
  const auto first = train("--run-name sig-again --set training.epochs=1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const fs::path last_meta = root() / "checkpoints" / "sig-again" / "last.meta.json";
  const int64_t steps = nlohmann::json::parse(read_text(last_meta)).at("global_step");
  const auto stopped =
      run_command("PIXELREC_TEST_SIGNAL_AFTER_STEPS=" + std::to_string(steps + 7) + " " +
                  shell_quote(PIXELREC_BIN) + " train " + pipeline_->config_arg() +
                  " --no-progress --run-name sig-again --resume last"
                  " --set training.epochs=2");
  EXPECT_EQ(stopped.exit_code, 128 + 15) << stopped.output;
  const auto epoch = nlohmann::json::parse(
      read_text(root() / "results" / "sig-again" / "metrics.jsonl"));  // the one completed epoch
  const auto sidecar =
      nlohmann::json::parse(read_text(root() / "checkpoints" / "sig-again" / "last.meta.json"));
  EXPECT_EQ(sidecar.at("epoch").get<int64_t>(), 1) << sidecar.dump();
  EXPECT_FALSE(sidecar.at("finished").get<bool>()) << sidecar.dump();
  ASSERT_TRUE(sidecar.at("metrics").contains("val_ndcg@10")) << sidecar.dump();
  EXPECT_EQ(sidecar.at("metrics").at("val_ndcg@10"), epoch.at("val_ndcg@10")) << sidecar.dump();
}

TEST_F(TrainCli, MixedPrecisionAndEveryFusionTrainWithFiniteLosses) {
  for (const char* extra :
       {"--set training.mixed_precision=true", "--set model.fusion_type=gated",
        "--set model.fusion_type=attention --set model.num_attention_heads=4"}) {
    const auto r =
        train(std::string("--run-name variant --overwrite --set training.epochs=1 ") + extra);
    ASSERT_EQ(r.exit_code, 0) << extra << "\n" << r.output;
    const std::string jsonl = read_text(root() / "results" / "variant" / "metrics.jsonl");
    EXPECT_NE(jsonl.find("\"train_loss\":"), std::string::npos) << jsonl;
    EXPECT_EQ(jsonl.find("null"), std::string::npos) << extra << ": non-finite metric\n" << jsonl;
  }
}

TEST_F(TrainCli, BadModelSettingsGiveClearErrors) {
  struct Case {
    std::string args;
    int exit_code;
    std::vector<std::string> said;  // what the error must name
  };
  const std::vector<Case> cases = {
      {"--set model.fusion_type=sum", 1, {"model.fusion_type", "concat, gated, attention"}},
      {"--set model.dropout_rate=-0.1", 1, {"model.dropout_rate"}},
      {"--set model.scorer=dot --set model.user_id_embedding=false",
       1,
       {"model.user_history: mean"}},
      {"--set model.scorer=dot --set model.user_history_content=true",
       1,
       {"model.user_history_content"}},
      {"--set model.user_history_decay=0", 1, {"model.user_history_decay"}},
      {"--set model.fusion_hidden_dims=[]", 1, {"a non-empty list"}},
      {"--set training.early_stopping_metric=val_auc", 1, {"val_ndcg@10"}},
      {"--resume last", 2, {"--run-name"}}};
  for (const auto& c : cases) {
    const auto r = train(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.output;
    for (const auto& text : c.said)
      EXPECT_NE(r.output.find(text), std::string::npos) << c.args << "\n" << r.output;
  }
}

// Every build compiles and links the CUDA code (the NCCL communicator, --device cuda): the
// LibTorch half of the binary loads libtorch_cuda even where no GPU exists.
TEST(CudaBuild, PixelrecTorchLinksLibtorchCuda) {
  const fs::path torch_binary = fs::path(PIXELREC_BIN).parent_path() / "pixelrec-torch";
  const CommandResult r = run_command("ldd " + shell_quote(torch_binary.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("libtorch_cuda.so => /"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("libc10_cuda.so => /"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("not found"), std::string::npos) << r.output;
}

// The CUDA build on a machine without a GPU (these machines, CI): --device cuda and the NCCL
// backend are refused in one line that says what to do, exit status 1.
TEST_F(TrainCli, DeviceCudaWithoutGpuSaysSoAndHowToTrain) {
  const auto one_line = [](const std::string& output, const std::string& message) {
    const size_t at = output.find(message);
    if (at == std::string::npos) return false;
    const size_t line_start = output.rfind('\n', at) + 1;
    const size_t line_end = output.find('\n', at);
    return output.find("use --device cpu", line_start) < line_end;
  };
  const auto r = train("--device cuda --run-name gpu");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(one_line(r.output, "--device cuda: no CUDA GPU is visible to this process"))
      << r.output;
  const auto nccl = train("--device cuda --set distributed.backend=nccl --run-name gpu_nccl");
  EXPECT_EQ(nccl.exit_code, 1) << nccl.output;
  EXPECT_TRUE(one_line(nccl.output, "distributed.backend nccl: rank 0 sees no CUDA GPU"))
      << nccl.output;
  const auto nccl_cpu = train("--set distributed.backend=nccl --run-name cpu_nccl");
  EXPECT_EQ(nccl_cpu.exit_code, 1) << nccl_cpu.output;
  EXPECT_NE(nccl_cpu.output.find("distributed.backend nccl reduces GPU tensors: run with --device "
                                 "cuda"),
            std::string::npos)
      << nccl_cpu.output;
  const auto bad = train("--device tpu");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

}  // namespace
}  // namespace pixelrec::test
