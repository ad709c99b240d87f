// Early stopping on a validation metric (a loss or a ranking metric such as val_ndcg@10): tracks
// the best value and its epoch, and says when `patience` epochs in a row brought no new best.
#pragma once

#include <string>
#include <vector>

namespace pixelrec::train {

enum class Direction { kMinimize, kMaximize };

// "auto": minimize when the metric name contains "loss", else maximize. Other values than auto,
// minimize and maximize: ConfigError naming training.early_stopping_direction.
Direction resolve_direction(const std::string& metric, const std::string& direction);

class EarlyStopping {
 public:
  // Throws ConfigError for a negative patience or a negative / non-finite min_delta.
  EarlyStopping(std::string metric, Direction direction, int patience, double min_delta = 0.0);

  // Records `value` for `epoch` (epochs must increase); true when it is a new best, i.e. better
  // than the best so far by more than min_delta (ties are not; NaN never is).
  bool update(int epoch, double value);
  // `patience` consecutive epochs without a new best; patience 0 = never stop.
  bool should_stop() const;

  const std::string& metric() const { return metric_; }
  Direction direction() const { return direction_; }
  int patience() const { return patience_; }
  int best_epoch() const { return best_epoch_; }  // -1 before the first new best
  double best() const { return best_; }           // NaN before the first new best
  int bad_epochs() const { return bad_epochs_; }

  std::vector<double> state() const;
  // Throws Error on a malformed state or one saved for the other direction.
  void load_state(const std::vector<double>& state);

 private:
  std::string metric_;
  Direction direction_;
  int patience_;
  double min_delta_;
  double best_;
  int best_epoch_ = -1;
  int bad_epochs_ = 0;
  int last_epoch_ = -1;
};

}  // namespace pixelrec::train
