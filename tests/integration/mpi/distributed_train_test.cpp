// Multi-process training and evaluation under mpirun: N ranks make the same steps as one process
// on the same global batches, checkpoints resume on another world size, a signal on one rank
// stops every rank with a checkpoint, a stalled rank ends the job with a clear error, and
// evaluation metrics do not depend on the number of ranks.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/exactness.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

const char* kYaml =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  batch_size: 128\n"
    "  epochs: 2\n"
    "  num_workers: 1\n"
    "  learning_rate: 0.005\n"
    "evaluation:\n"
    "  num_negatives: 50\n";

class DistributedTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>("distributed_train");
    pipeline_ = std::make_unique<Pipeline>(make_cached_tiny_pipeline(dir_->path(), kYaml));
  }
  static void TearDownTestSuite() {
    pipeline_.reset();
    dir_.reset();
  }
  // `pixelrec ARGS` on `ranks` MPI processes (1: a plain process).
  static CommandResult run(int ranks, const std::string& args, const std::string& env = "") {
    const std::string launcher = ranks == 1 ? ""
                                            : "mpirun --allow-run-as-root --oversubscribe -np " +
                                                  std::to_string(ranks) + " ";
    return run_command(env + " " + launcher + shell_quote(PIXELREC_BIN) + " " + args + " " +
                       pipeline_->config_arg());
  }
  static CommandResult train(int ranks, const std::string& args, const std::string& env = "") {
    return run(ranks, "train --no-progress " + args, env);
  }
  static double compare(const std::string& a, const std::string& b) {
    const auto r = run_pixelrec("checkpoints inspect " + last(a) + " --compare " + last(b));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return max_difference(r.output);
  }
  static std::string last(const std::string& run) {
    return (dir_->path() / "checkpoints" / run / "last.pt").string();
  }
  // The val_* metrics of every epoch of `run`, keyed "epoch/name".
  static std::map<std::string, double> validation_metrics(const std::string& run) {
    std::map<std::string, double> out;
    std::istringstream lines(read_text(dir_->path() / "results" / run / "metrics.jsonl"));
    for (std::string line; std::getline(lines, line);) {
      const auto j = nlohmann::json::parse(line);
      for (const auto& [name, value] : j.items())
        if (name.rfind("val_", 0) == 0)
          out[std::to_string(j.at("epoch").get<int>()) + "/" + name] = value.get<double>();
    }
    return out;
  }
  // `evaluate <args>` on each of `counts` ranks (the first one process), writing <name><ranks>.json
  // and .csv: every count's metrics, users evaluated and saved lists equal one process's exactly.
  // Returns one process's result.
  static nlohmann::json expect_one_process_evaluation(const std::string& name,
                                                      const std::string& args,
                                                      const std::vector<int>& counts) {
    nlohmann::json reference;
    std::string reference_predictions;
    for (int ranks : counts) {
      const std::string stem = name + std::to_string(ranks);
      const fs::path out = dir_->path() / (stem + ".json");
      const fs::path predictions = dir_->path() / (stem + ".csv");
      const auto r =
          run(ranks, "evaluate " + args + " --output " + out.string() + " --save-predictions " +
                         predictions.string() + " --log-level warn");
      EXPECT_EQ(r.exit_code, 0) << r.output;
      if (r.exit_code != 0) return {};
      const auto j = nlohmann::json::parse(read_text(out));
      if (ranks == counts.front()) {
        reference = j;
        reference_predictions = read_text(predictions);
        continue;
      }
      EXPECT_EQ(j.at("metrics"), reference.at("metrics")) << name << " on " << ranks;
      EXPECT_EQ(j.at("users_evaluated"), reference.at("users_evaluated")) << name;
      EXPECT_EQ(read_text(predictions), reference_predictions) << name << " on " << ranks;
    }
    EXPECT_FALSE(reference_predictions.empty()) << name;
    return reference;
  }
  // Trains each {name, flags} variant on 1 and 2 ranks (and 3 for `three_ranks`): parameters within
  // parameter_tolerance (default 1e-5) of one process, validation metrics within 1e-3 relative.
  // Parameters agree to rounding (sums over ranks in another order, amplified by logits / t with t
  // ~ 0.1 in the softmax), which can swap near-tied items in a top-10 list: list metrics (gini,
  // novelty, personalization) then move in their 5th digit.
  static void expect_one_process_steps(
      const std::vector<std::pair<std::string, std::string>>& variants,
      const std::string& three_ranks, double parameter_tolerance = 1e-5) {
    for (const auto& [name, flags] : variants) {
      const std::vector<int> counts =
          name == three_ranks ? std::vector<int>{1, 2, 3} : std::vector<int>{1, 2};
      for (int ranks : counts) {
        const auto r = train(ranks, "--run-name " + name + std::to_string(ranks) + " " + flags);
        ASSERT_EQ(r.exit_code, 0) << r.output;
      }
      const auto one = validation_metrics(name + "1");
      ASSERT_FALSE(one.empty()) << name;
      for (int ranks : counts) {
        if (ranks == 1) continue;
        const std::string many_run = name + std::to_string(ranks);
        EXPECT_LT(compare(name + "1", many_run), parameter_tolerance) << many_run;
        const auto many = validation_metrics(many_run);
        ASSERT_EQ(many.size(), one.size()) << many_run;
        for (const auto& [metric, value] : one)
          EXPECT_NEAR(many.at(metric), value, 1e-3 * std::max(1.0, std::abs(value)))
              << many_run << " " << metric;
      }
    }
  }
  static void copy_run(const std::string& from, const std::string& to) {
    for (const char* top : {"checkpoints", "results"})
      fs::copy(dir_->path() / top / from, dir_->path() / top / to, fs::copy_options::recursive);
  }
  static std::unique_ptr<ScratchDir> dir_;
  static std::unique_ptr<Pipeline> pipeline_;
};
std::unique_ptr<ScratchDir> DistributedTrain::dir_;
std::unique_ptr<Pipeline> DistributedTrain::pipeline_;

// The default model (BatchNorm, dropout, contrastive loss): synchronised batch statistics,
// dropout masks keyed by item and pair, and the contrastive loss over the global batch's items.
TEST_F(DistributedTrain, TwoAndThreeRanksMakeTheOneProcessSteps) {
  for (int ranks : {1, 2, 3}) {
    const auto r = train(ranks, "--run-name exact" + std::to_string(ranks));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    // Each rank keeps only its shard's item-embedding rows (rank 0's line is the one printed).
    EXPECT_EQ(r.output.find("rank 0 item embeddings: item rows [0, ") != std::string::npos,
              ranks > 1)
        << r.output;
  }
  // Parameters and buffers (BatchNorm running statistics included).
  EXPECT_LT(compare("exact1", "exact2"), 1e-5);
  EXPECT_LT(compare("exact1", "exact3"), 1e-5);
  const auto one = validation_metrics("exact1");
  ASSERT_FALSE(one.empty());
  for (const char* other : {"exact2", "exact3"}) {
    const auto many = validation_metrics(other);
    ASSERT_EQ(many.size(), one.size()) << other;
    for (const auto& [name, value] : one) EXPECT_NEAR(many.at(name), value, 1e-6) << other << name;
  }
}

// model.scorer dot with the default model otherwise (BCE), then the losses that compare pairs
// across ranks: dot + softmax gathers the batch's tower vectors over ranks, MLP + BPR its logits.
TEST_F(DistributedTrain, DotScorerAndPairwiseLossesMakeTheOneProcessSteps) {
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"dot", "--set model.scorer=dot"},
      {"dotsoftmax", "--set model.scorer=dot --set training.loss=softmax"},
      {"mlpbpr", "--set training.loss=bpr"}};
  expect_one_process_steps(variants, "dot");
  // The checkpoint records the scorer; the default (mlp) config refuses to evaluate it.
  const auto refused = run(1, "evaluate --run-name dotsoftmax1 --task full --log-level warn");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("holds a model.scorer 'dot' model (trained with training.loss "
                                "softmax) but the config asks for model.scorer 'mlp'"),
            std::string::npos)
      << refused.output;
  // Full ranking with the dot product, item-sharded: the same lists on 1 and 2 ranks.
  std::string reference;
  for (int ranks : {1, 2}) {
    const fs::path predictions = dir_->path() / ("dot_full" + std::to_string(ranks) + ".csv");
    const auto r = run(ranks,
                       "evaluate --run-name dotsoftmax1 --task full --set model.scorer=dot "
                       "--save-predictions " +
                           predictions.string() + " --log-level warn");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    if (ranks == 1)
      reference = read_text(predictions);
    else
      EXPECT_EQ(read_text(predictions), reference);
  }
  EXPECT_FALSE(reference.empty());
}

// model.user_history mean pools item rows that other ranks own: training exchanges the rows its
// pairs pool (their gradients go back to the owners), validation and item-sharded evaluation use
// the history rows gathered once. Tolerances as for dot + softmax above (near ties; on this data
// only val_loss moved, by 5e-8). cold_item scores as full does (the same dense walk).
TEST_F(DistributedTrain, HistoryPoolingMakesTheOneProcessSteps) {
  const std::string history =
      "--set model.scorer=dot --set model.user_history=mean --set model.user_history_length=5 ";
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"histbce", history + "--set training.loss=bce"},
      {"histsoftmax", history + "--set training.loss=softmax"},
      {"histdecay", history + "--set model.user_history_training=preceding "
                              "--set model.user_history_decay=0.6"}};
  expect_one_process_steps(variants, "histbce");
  // The recommended user tower: preceding, decayed (with a base weight), without the user ID row,
  // and with the history items' content vectors (each owner runs the item tower on its own
  // items). Its largest difference (2e-5) is in image-projection weights of near-constant feature
  // columns, whose gradients are rounding-level: Adam's m / sqrt(v) makes those lr-sized steps.
  // The user and item rows agree to 1e-7.
  const std::string recommended = history +
                                  "--set model.user_history_training=preceding "
                                  "--set model.user_history_decay=0.6 "
                                  "--set model.user_history_base_weight=0.1 "
                                  "--set model.user_id_embedding=false ";
  expect_one_process_steps({{"histpreceding", recommended},
                            {"histcontent", recommended + "--set model.user_history_content=true"}},
                           "", 5e-5);
  // Item-sharded evaluation of one checkpoint: the one-process metrics and lists, exactly.
  for (const std::string task : {"full", "sampled"})
    expect_one_process_evaluation("hist_eval_" + task,
                                  "--run-name histsoftmax1 --task " + task + " " + history, {1, 2});
  // With content pooling every rank reads the whole catalogue's features once for the history.
  expect_one_process_evaluation("hist_eval_content",
                                "--run-name histcontent1 --task full " + recommended +
                                    "--set model.user_history_content=true",
                                {1, 2});
}

TEST_F(DistributedTrain, ResumesOnAnotherNumberOfRanks) {
  ASSERT_EQ(train(1, "--run-name straight4 --set training.epochs=4").exit_code, 0);
  const auto two = train(2, "--run-name half");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  for (int ranks : {1, 3}) {
    const std::string name = "resumed_on_" + std::to_string(ranks);
    copy_run("half", name);
    const auto r = train(ranks, "--run-name " + name + " --resume last --set training.epochs=4");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_LT(compare("straight4", name), 1e-5) << ranks << " ranks";
  }
}

TEST_F(DistributedTrain, SignalOnOneRankCheckpointsEveryRankAndResumesExactly) {
  const auto straight = train(2, "--run-name sig-straight");
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  const auto stopped =
      train(2, "--run-name sig", "PIXELREC_TEST_SIGNAL_AFTER_STEPS=5 PIXELREC_TEST_SIGNAL_RANK=1");
  EXPECT_NE(stopped.exit_code, 0);
  EXPECT_NE(stopped.output.find("--resume last"), std::string::npos) << stopped.output;
  const auto inspect = run_pixelrec("checkpoints inspect " + last("sig"));
  EXPECT_NE(inspect.output.find("step 5 of it"), std::string::npos) << inspect.output;
  const auto resumed = train(2, "--run-name sig --resume last");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(digest_of(resumed.output), digest_of(straight.output));  // same world size: bitwise
}

// The watchdog thread makes no MPI call (MPI_Abort from it would need MPI_THREAD_MULTIPLE, and
// MPI is initialised FUNNELED): it prints the error and ends its rank with status 1, and mpirun
// then ends the job with that status.
TEST_F(DistributedTrain, StalledRankEndsTheJobWithAClearError) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = train(2, "--run-name stall --log-level debug --set distributed.timeout_seconds=3",
                       "PIXELREC_TEST_STALL_AFTER_STEPS=3 PIXELREC_TEST_STALL_RANK=1");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("rank 0: MPI"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did not complete within 3.0 s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ending the job (exit status 1)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("MPI_ABORT was invoked"), std::string::npos) << r.output;
  // Each rank checked and logged the thread support MPI gave it.
  EXPECT_NE(r.output.find("[rank 0/2] MPI thread support: MPI_THREAD_FUNNELED provided "
                          "(MPI_THREAD_FUNNELED required)"),
            std::string::npos)
      << r.output;
  EXPECT_LT(seconds, 120.0);
}

TEST_F(DistributedTrain, EvaluationMetricsAreIdenticalOnOneTwoAndThreeRanks) {
  ASSERT_EQ(train(1, "--run-name evalmodel --set training.epochs=1").exit_code, 0);
  // A random split, whose test users do not divide evenly over 3 ranks, for the baselines.
  const std::string random_split =
      " --set data.splitting.strategy=random --set data.split_data_path=" +
      (dir_->path() / "splits" / "random").string();
  ASSERT_EQ(run(1, "split --log-level warn" + random_split).exit_code, 0);
  // The model is evaluated item-sharded (each rank scores its item shard; lists are merged).
  // Popularity ties many items (equal training counts): their seeded tie order is the same on
  // every rank, so the lists are too.
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"multimodal", "full", "--run-name evalmodel"},
      {"multimodal", "sampled", "--run-name evalmodel"},
      {"itemknn", "full", random_split},
      {"contentknn", "full", random_split},
      {"popularity", "full", random_split}};
  for (const auto& [recommender, task, args] : cases) {
    const nlohmann::json one = expect_one_process_evaluation(
        "eval_" + recommender + task,
        "--recommender " + recommender + " --task " + task + " " + args, {1, 2, 3});
    if (recommender != "multimodal" && !one.empty()) {
      EXPECT_NE(one.at("users_evaluated").get<int>() % 3, 0) << "users should not split evenly";
    }
  }
}

}  // namespace
}  // namespace pixelrec::test
