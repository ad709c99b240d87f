#include "model/validation.h"

#include <algorithm>

#include "model/model_scorer.h"

namespace pixelrec::model {
namespace {

constexpr uint64_t kValidationEpochKey = 0x56414C4944ull;  // "VALID": fixed negatives

}  // namespace

eval::EvalOptions validation_options(const Config& config, int threads) {
  eval::EvalOptions o;
  o.task = eval::parse_eval_task(config.training.validation_task);
  o.ks = config.evaluation.k_values;
  o.num_negatives = config.evaluation.num_negatives;
  o.seed = uint64_t(config.evaluation.seed);
  o.threads = threads;
  return o;
}

Validator::Validator(const Config& config, const SplitData& split, const ItemFeatures& features,
                     std::vector<uint32_t> negative_candidates, int threads)
    : config_(config),
      split_(split),
      features_(features),
      threads_(threads),
      context_(eval::make_eval_context(split, nullptr)) {
  const auto& val = split.val;
  // Validation never looks at the test part: negatives exclude a user's train ∪ val items only.
  const NegativeSampler sampler(NegativeStrategy::kRandom, std::move(negative_candidates),
                                context_.train_counts, context_.train_val);
  const NegativeDraw draw =
      sampler.sample(val.user.data(), val.size(), config.data.negative_sampling_ratio,
                     uint64_t(config.training.seed), kValidationEpochKey, 0, threads);
  const int64_t n = int64_t(val.size() + draw.item.size());
  users_ = torch::empty({n}, torch::kLong);
  items_ = torch::empty({n}, torch::kLong);
  labels_ = torch::zeros({n});
  int64_t* u = users_.data_ptr<int64_t>();
  int64_t* it = items_.data_ptr<int64_t>();
  for (size_t p = 0; p < val.size(); ++p) u[p] = val.user[p], it[p] = val.item[p];
  for (size_t q = 0; q < draw.item.size(); ++q)
    u[val.size() + q] = draw.user[q], it[val.size() + q] = draw.item[q];
  labels_.narrow(0, 0, int64_t(val.size())).fill_(1.0f);
}

std::vector<std::string> Validator::metric_names() const {
  // Validation passes no content vectors to the evaluator (no diversity@K).
  std::vector<uint32_t> users = split_.val.user;
  std::sort(users.begin(), users.end());
  const size_t num_users = size_t(std::unique(users.begin(), users.end()) - users.begin());
  std::vector<std::string> names{"val_loss"};
  for (const auto& name : eval::metric_names(config_.evaluation.k_values, false, num_users))
    names.push_back("val_" + name);
  return names;
}

std::vector<std::pair<std::string, double>> Validator::run(Recommender& model,
                                                           dist::Communicator& comm) {
  torch::NoGradGuard no_grad;
  model.train(false);
  // val_loss over the pairs whose item is in this rank's shard, summed over ranks.
  const torch::Tensor local = items_.ge(features_.first_item)
                                  .logical_and(items_.lt(features_.first_item + features_.count))
                                  .nonzero()
                                  .squeeze(1);
  const torch::Tensor users = users_.index_select(0, local).to(model.device());
  const torch::Tensor items = items_.index_select(0, local).to(model.device());
  const torch::Tensor labels = labels_.index_select(0, local).to(model.device());
  double loss_sum = 0;
  constexpr int64_t kBatch = 1 << 16;
  for (int64_t begin = 0; begin < users.size(0); begin += kBatch) {
    const int64_t n = std::min(kBatch, users.size(0) - begin);
    const torch::Tensor logits =
        model.forward(users.narrow(0, begin, n), items.narrow(0, begin, n), features_);
    loss_sum += torch::binary_cross_entropy_with_logits(logits, labels.narrow(0, begin, n), {}, {},
                                                        at::Reduction::Sum)
                    .item<double>();
  }
  comm.allreduce_sum(&loss_sum, 1);
  std::vector<std::pair<std::string, double>> out{
      {"val_loss", loss_sum / double(std::max<int64_t>(1, users_.size(0)))}};
  // Item-sharded evaluation: each rank scores the validation candidates of its item shard and
  // every rank gets the one-process metrics (one process: the shard is the whole catalogue).
  ItemShardScorer scorer(model, features_);
  const eval::EvalResult result =
      eval::evaluate(scorer, context_, validation_options(config_, threads_), comm, "val");
  for (const auto& [name, value] : result.metrics) out.emplace_back("val_" + name, value);
  return out;
}

}  // namespace pixelrec::model
