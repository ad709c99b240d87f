// Learning-rate schedules for the trainer (none, reduce_on_plateau, cosine, step) with optional
// linear warmup, computed per optimizer step without LibTorch so they can be tested exactly and
// their state saved in checkpoints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace pixelrec::train {

struct LrScheduleOptions {
  std::string type = "none";  // none | reduce_on_plateau | cosine | step
  double base_lr = 1e-3;
  int warmup_epochs = 0;
  int total_epochs = 1;
  double factor = 0.5;  // plateau and step multiplier
  int patience = 2;     // plateau
  double min_lr = 0.0;
  int step_size = 5;      // step
  bool maximize = false;  // plateau: direction of the monitored metric
};

// From training.* (use_lr_scheduler=false → "none"; warmup still applies).
LrScheduleOptions lr_schedule_options(const TrainingConfig& training, bool maximize_metric);

class LrSchedule {
 public:
  // Throws ConfigError naming the training.* key of an invalid option.
  explicit LrSchedule(LrScheduleOptions options);

  // The learning rate for the optimizer step taken at (epoch, step_in_epoch); epochs count from 0.
  double lr(int epoch, int64_t step_in_epoch, int64_t steps_per_epoch) const;

  // Called once after each epoch's validation (plateau bookkeeping; others ignore the value).
  void end_epoch(int epoch, double metric);

  std::vector<double> state() const;                  // everything needed to resume exactly
  void load_state(const std::vector<double>& state);  // throws Error on a malformed state

  const LrScheduleOptions& options() const { return options_; }
  // reduce_on_plateau: the learning rate after warmup as reduced so far (base_lr for the others).
  double plateau_lr() const { return plateau_lr_; }
  int plateau_bad_epochs() const { return num_bad_epochs_; }

 private:
  enum class Kind { kNone, kReduceOnPlateau, kCosine, kStep };
  bool is_better(double value) const;

  LrScheduleOptions options_;
  Kind kind_ = Kind::kNone;
  // reduce_on_plateau bookkeeping (PyTorch's ReduceLROnPlateau, threshold_mode "rel").
  double plateau_lr_ = 0.0;
  double best_ = 0.0;
  int num_bad_epochs_ = 0;
  int last_epoch_ = -1;  // the last epoch passed to end_epoch
};

}  // namespace pixelrec::train
