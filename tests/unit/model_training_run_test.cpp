// TrainingRun's steps driven one by one, as a test or a new loop would: set-up, train_epoch,
// validate, save_epoch, stop_after, finish give the run train() gives, and each step's output
// can be checked on its own.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/config_loader.h"
#include "distributed/communicator.h"
#include "support/pipeline.h"
#include "train/loop/training_run.h"

namespace pixelrec::train {
namespace {

namespace fs = std::filesystem;

Config tiny_config(const test::Pipeline& p) {
  Config config = load_config({{p.config.string()}, {"training.epochs=2"}, false}).config;
  config.training.num_workers = 1;
  return config;
}

TrainOptions named(const std::string& run) {
  TrainOptions options;
  options.run_name = run;
  options.progress = false;
  return options;
}

// Timings differ between two runs; every other metric must not.
Metrics without_timings(Metrics metrics) {
  Metrics kept;
  for (auto& m : metrics)
    if (m.first != "epoch_seconds" && m.first != "train_samples_per_second") kept.push_back(m);
  return kept;
}

TEST(TrainingRun, StepsByHandMakeTheRunTrainMakes) {
  test::ScratchDir dir("training_run_steps");
  const test::Pipeline pipeline = test::make_cached_tiny_pipeline(dir.path());
  const Config config = tiny_config(pipeline);
  auto comm = dist::make_single_process_communicator();
  const TrainResult whole = train(config, named("whole"), *comm);

  TrainingRun run(config, named("steps"), *comm);
  EXPECT_EQ(run.first_epoch(), 0);
  for (int epoch = 0; epoch < 2; ++epoch) {
    EpochTotals totals;
    ASSERT_EQ(run.train_epoch(epoch, totals), EpochEnd::kCompleted);
    EXPECT_GT(totals.loss_count, 0);  // every training pair of the epoch
    EXPECT_EQ(totals.examples, totals.loss_count);
    EXPECT_GT(totals.loss_sum / totals.loss_count, 0);
    const EpochMetricsResult m = run.validate(epoch, totals);
    ASSERT_FALSE(m.metrics.empty());
    EXPECT_EQ(m.metrics.front().first, "train_loss");
    EXPECT_DOUBLE_EQ(m.metrics.front().second, totals.loss_sum / totals.loss_count);
    run.save_epoch(epoch, totals, m);
    EXPECT_TRUE(fs::exists(run.result().checkpoint_dir / "last.pt"));
    EXPECT_EQ(run.result().epochs_completed, epoch + 1);
    EXPECT_FALSE(run.stop_after(epoch, m.metrics, /*requested=*/false));
  }
  const TrainResult steps = run.finish();
  EXPECT_EQ(steps.parameter_digest, whole.parameter_digest);
  EXPECT_EQ(without_timings(steps.last_metrics), without_timings(whole.last_metrics));
  EXPECT_EQ(steps.best_epoch, whole.best_epoch);
  EXPECT_EQ(steps.best_value, whole.best_value);
}

TEST(TrainingRun, StopAfterRecordsWhyTrainingEnds) {
  test::ScratchDir dir("training_run_stop");
  const test::Pipeline pipeline = test::make_cached_tiny_pipeline(dir.path());
  const Config config = tiny_config(pipeline);
  auto comm = dist::make_single_process_communicator();
  TrainOptions options = named("pruned");
  int asked_at = -1;
  options.on_epoch_end = [&](int epoch, const Metrics&) { return (asked_at = epoch) == 0; };
  TrainingRun run(config, options, *comm);
  EpochTotals totals;
  ASSERT_EQ(run.train_epoch(0, totals), EpochEnd::kCompleted);
  const EpochMetricsResult m = run.validate(0, totals);
  run.save_epoch(0, totals, m);
  EXPECT_TRUE(run.stop_after(0, m.metrics, /*requested=*/false));
  EXPECT_EQ(asked_at, 0);
  EXPECT_TRUE(run.result().stopped_by_callback);
  EXPECT_FALSE(run.result().stopped_by_request);

  TrainingRun requested(config, named("requested"), *comm);
  EXPECT_TRUE(requested.stop_after(0, m.metrics, /*requested=*/true));
  EXPECT_TRUE(requested.result().stopped_by_request);
}

}  // namespace
}  // namespace pixelrec::train
