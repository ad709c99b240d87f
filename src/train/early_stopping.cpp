#include "train/early_stopping.h"

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "core/errors.h"

namespace pixelrec::train {
namespace {

constexpr double kStateVersion = 1;
constexpr size_t kStateSize = 6;  // version, direction, best, best_epoch, bad_epochs, last_epoch

bool is_epoch_value(double v, double lowest) {
  return std::isfinite(v) && v == std::floor(v) && v >= lowest &&
         v <= std::numeric_limits<int>::max();
}

}  // namespace

Direction resolve_direction(const std::string& metric, const std::string& direction) {
  if (direction == "minimize") return Direction::kMinimize;
  if (direction == "maximize") return Direction::kMaximize;
  if (direction == "auto")
    return metric.find("loss") != std::string::npos ? Direction::kMinimize : Direction::kMaximize;
  throw ConfigError("training.early_stopping_direction = '" + direction +
                    "' is not a direction: use auto, minimize or maximize (auto minimizes "
                    "metrics whose name contains 'loss' and maximizes the others)");
}

EarlyStopping::EarlyStopping(std::string metric, Direction direction, int patience,
                             double min_delta)
    : metric_(std::move(metric)),
      direction_(direction),
      patience_(patience),
      min_delta_(min_delta),
      best_(std::numeric_limits<double>::quiet_NaN()) {
  if (patience < 0)
    throw ConfigError("training.patience = " + std::to_string(patience) +
                      " is negative; use 0 (never stop early) or a positive number of epochs");
  if (!(min_delta >= 0) || !std::isfinite(min_delta))
    throw ConfigError("early-stopping min_delta = " + std::to_string(min_delta) +
                      " must be a finite number >= 0");
}

bool EarlyStopping::update(int epoch, double value) {
  PIXELREC_CHECK(epoch > last_epoch_, "EarlyStopping::update(" + std::to_string(epoch) +
                                          ") after epoch " + std::to_string(last_epoch_));
  last_epoch_ = epoch;
  bool improved = false;
  if (!std::isnan(value)) {
    if (std::isnan(best_)) {
      improved = true;
    } else if (direction_ == Direction::kMinimize) {
      improved = value < best_ - min_delta_;
    } else {
      improved = value > best_ + min_delta_;
    }
  }
  if (improved) {
    best_ = value;
    best_epoch_ = epoch;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  return improved;
}

bool EarlyStopping::should_stop() const { return patience_ > 0 && bad_epochs_ >= patience_; }

std::vector<double> EarlyStopping::state() const {
  return {kStateVersion,       double(direction_),  best_,
          double(best_epoch_), double(bad_epochs_), double(last_epoch_)};
}

void EarlyStopping::load_state(const std::vector<double>& state) {
  const std::string fix = "; resume from a checkpoint of the same run, or start a new run";
  if (state.size() != kStateSize || state[0] != kStateVersion)
    throw Error("early-stopping state in the checkpoint is malformed (" +
                std::to_string(state.size()) + " values, expected " + std::to_string(kStateSize) +
                " of version 1)" + fix);
  if (state[1] != double(direction_))
    throw Error("early-stopping state in the checkpoint was saved for the other direction of '" +
                metric_ + "'; keep training.early_stopping_direction as it was" + fix);
  const double best = state[2];
  const bool best_epoch_ok = is_epoch_value(state[3], -1) && (state[3] < 0) == std::isnan(best);
  if (!best_epoch_ok || !is_epoch_value(state[4], 0) || !is_epoch_value(state[5], -1) ||
      state[3] > state[5])
    throw Error("early-stopping state in the checkpoint has invalid values" + fix);
  best_ = best;
  best_epoch_ = int(state[3]);
  bad_epochs_ = int(state[4]);
  last_epoch_ = int(state[5]);
}

}  // namespace pixelrec::train
