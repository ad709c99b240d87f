#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "core/errors.h"

namespace pixelrec::train {
namespace {

constexpr double kStateVersion = 1;
constexpr size_t kStateSize = 6;  // version, kind, plateau_lr, best, num_bad_epochs, last_epoch
constexpr double kPlateauThreshold = 1e-4;  // PyTorch's default, relative mode
constexpr double kPlateauEps = 1e-8;        // smaller reductions are ignored, as in PyTorch
constexpr double kPi = 3.14159265358979323846;

[[noreturn]] void bad_option(const std::string& key, const std::string& value,
                             const std::string& allowed) {
  throw ConfigError("training." + key + " = " + value + " is invalid for the learning-rate " +
                    "schedule: it must be " + allowed + "; fix the value in the config or with " +
                    "--set training." + key + "=...");
}

bool is_integral(double v) { return std::isfinite(v) && v == std::floor(v); }

}  // namespace

LrScheduleOptions lr_schedule_options(const TrainingConfig& training, bool maximize_metric) {
  LrScheduleOptions o;
  o.type = training.use_lr_scheduler ? training.lr_scheduler_type : "none";
  o.base_lr = training.learning_rate;
  o.warmup_epochs = training.warmup_epochs;
  o.total_epochs = training.epochs;
  o.factor = training.lr_scheduler_factor;
  o.patience = training.lr_scheduler_patience;
  o.min_lr = training.lr_scheduler_min_lr;
  o.step_size = training.lr_scheduler_step_size;
  o.maximize = maximize_metric;
  return o;
}

LrSchedule::LrSchedule(LrScheduleOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  if (o.type == "none") {
    kind_ = Kind::kNone;
  } else if (o.type == "reduce_on_plateau") {
    kind_ = Kind::kReduceOnPlateau;
  } else if (o.type == "cosine") {
    kind_ = Kind::kCosine;
  } else if (o.type == "step") {
    kind_ = Kind::kStep;
  } else {
    bad_option("lr_scheduler_type", "'" + o.type + "'",
               "one of reduce_on_plateau, cosine, step (or use_lr_scheduler: false)");
  }
  if (!(o.base_lr > 0) || !std::isfinite(o.base_lr))
    bad_option("learning_rate", std::to_string(o.base_lr), "a finite number > 0");
  if (o.warmup_epochs < 0)
    bad_option("warmup_epochs", std::to_string(o.warmup_epochs), "an integer >= 0");
  if (o.total_epochs < 1) bad_option("epochs", std::to_string(o.total_epochs), "an integer >= 1");
  if (!(o.factor > 0 && o.factor <= 1))
    bad_option("lr_scheduler_factor", std::to_string(o.factor), "a number in (0, 1]");
  if (o.patience < 0)
    bad_option("lr_scheduler_patience", std::to_string(o.patience), "an integer >= 0");
  if (!(o.min_lr >= 0) || !std::isfinite(o.min_lr))
    bad_option("lr_scheduler_min_lr", std::to_string(o.min_lr), "a finite number >= 0");
  if (o.step_size < 1)
    bad_option("lr_scheduler_step_size", std::to_string(o.step_size), "an integer >= 1");
  plateau_lr_ = o.base_lr;
  best_ = o.maximize ? -std::numeric_limits<double>::infinity()
                     : std::numeric_limits<double>::infinity();
}

double LrSchedule::lr(int epoch, int64_t step_in_epoch, int64_t steps_per_epoch) const {
  PIXELREC_CHECK(
      epoch >= 0 && steps_per_epoch >= 1 && step_in_epoch >= 0 && step_in_epoch < steps_per_epoch,
      "lr(epoch=" + std::to_string(epoch) + ", step=" + std::to_string(step_in_epoch) +
          ", steps_per_epoch=" + std::to_string(steps_per_epoch) + ")");
  const auto& o = options_;
  if (epoch < o.warmup_epochs) {
    const double global_step = double(epoch) * double(steps_per_epoch) + double(step_in_epoch);
    return o.base_lr * (global_step + 1) / (double(o.warmup_epochs) * double(steps_per_epoch));
  }
  const int e = epoch - o.warmup_epochs;
  switch (kind_) {
    case Kind::kNone:
      return o.base_lr;
    case Kind::kReduceOnPlateau:
      return plateau_lr_;
    case Kind::kCosine: {
      const double period = std::max(1, o.total_epochs - o.warmup_epochs);
      // Epochs past total_epochs (a run extended on resume) stay at min_lr.
      const double t =
          std::min(period, double(e) + double(step_in_epoch) / double(steps_per_epoch));
      return o.min_lr + (o.base_lr - o.min_lr) * (1 + std::cos(kPi * t / period)) / 2;
    }
    case Kind::kStep:
      return std::max(o.min_lr, o.base_lr * std::pow(o.factor, double(e / o.step_size)));
  }
  return o.base_lr;
}

bool LrSchedule::is_better(double value) const {
  // NaN compares false, so a NaN metric is a bad epoch.
  if (options_.maximize) return value > best_ * (1 + kPlateauThreshold);
  return value < best_ * (1 - kPlateauThreshold);
}

void LrSchedule::end_epoch(int epoch, double metric) {
  PIXELREC_CHECK(epoch > last_epoch_, "end_epoch(" + std::to_string(epoch) + ") after epoch " +
                                          std::to_string(last_epoch_));
  last_epoch_ = epoch;
  if (kind_ != Kind::kReduceOnPlateau || epoch < options_.warmup_epochs) return;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (num_bad_epochs_ > options_.patience) {
    const double reduced = std::max(plateau_lr_ * options_.factor, options_.min_lr);
    if (plateau_lr_ - reduced > kPlateauEps) plateau_lr_ = reduced;
    num_bad_epochs_ = 0;
  }
}

std::vector<double> LrSchedule::state() const {
  return {kStateVersion, double(kind_),           plateau_lr_,
          best_,         double(num_bad_epochs_), double(last_epoch_)};
}

void LrSchedule::load_state(const std::vector<double>& state) {
  const std::string fix =
      "; resume from a checkpoint written by this version with the same "
      "training.lr_scheduler_type, or start a new run";
  if (state.size() != kStateSize || state[0] != kStateVersion)
    throw Error("learning-rate schedule state in the checkpoint is malformed (" +
                std::to_string(state.size()) + " values, expected " + std::to_string(kStateSize) +
                " of version 1)" + fix);
  if (state[1] != double(kind_))
    throw Error(
        "learning-rate schedule state in the checkpoint belongs to another schedule "
        "than '" +
        options_.type + "'" + fix);
  const double lr = state[2], bad = state[4], last = state[5];
  if (!(lr > 0) || !std::isfinite(lr) || std::isnan(state[3]) || !is_integral(bad) || bad < 0 ||
      !is_integral(last) || last < -1 || last > std::numeric_limits<int>::max() ||
      bad > std::numeric_limits<int>::max())
    throw Error("learning-rate schedule state in the checkpoint has invalid values" + fix);
  plateau_lr_ = lr;
  best_ = state[3];
  num_bad_epochs_ = int(bad);
  last_epoch_ = int(last);
}

}  // namespace pixelrec::train
