// Per-epoch validation: val_loss (BCE on the validation positives and a fixed set of sampled
// negatives, identical every epoch so epochs are comparable) and the ranking metrics of eval/ on
// the validation part (val_ndcg@10, val_hit_rate@10, ...) in the task training.validation_task
// names (sampled, full or cold_item), any of which can drive early stopping, the plateau scheduler
// and HPO.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "data/negative_sampler.h"
#include "data/split_data.h"
#include "distributed/communicator.h"
#include "eval/evaluator.h"
#include "model/recommender.h"

namespace pixelrec::model {

// The evaluation options of validation: training.validation_task, evaluation.k_values, .seed,
// .num_negatives. Baseline studies (hyperparameter_search.target) validate with them too.
eval::EvalOptions validation_options(const Config& config, int threads);

class Validator {
 public:
  Validator(const Config& config, const SplitData& split, const ItemFeatures& features,
            std::vector<uint32_t> negative_candidates, int threads);

  bool empty() const { return split_.val.size() == 0; }
  // ("val_loss", v), then ("val_<metric>", v) for every metric of the validation task.
  std::vector<std::pair<std::string, double>> run(Recommender& model, dist::Communicator& comm);
  // The names run() reports (for checking training.early_stopping_metric up front).
  std::vector<std::string> metric_names() const;

 private:
  const Config& config_;
  const SplitData& split_;
  const ItemFeatures& features_;
  int threads_;
  eval::EvalContext context_;
  torch::Tensor users_, items_, labels_;  // val positives + fixed negatives
};

}  // namespace pixelrec::model
