#include "model/batch_loss.h"

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "model/global_rows.h"
#include "model/ranking_losses.h"

namespace pixelrec::model {
namespace {

// The parameter's value on every rank, its gradient on rank 0 only: a term every rank computes
// over the global batch then carries the parameter's gradient once (the path stays on every rank
// so that the ranks' autograd graphs, and backward collectives, stay equal).
torch::Tensor gradient_on_root(const torch::Tensor& t, dist::TensorCollectives* ranks, int rank) {
  if (!ranks || rank == 0) return t;
  return t.detach() + (t - t.detach()) * 0.0;
}

BatchLoss::Kind parse_loss(const std::string& loss) {
  if (loss == "bce") return BatchLoss::Kind::kBce;
  if (loss == "bpr") return BatchLoss::Kind::kBpr;
  if (loss == "softmax") return BatchLoss::Kind::kSoftmax;
  throw ConfigError("training.loss: unknown loss '" + loss + "'; use bce, bpr or softmax");
}

}  // namespace

BatchLoss::BatchLoss(const std::string& loss, const std::vector<int64_t>& item_counts,
                     const NegativeSampler& sampler, const torch::Device& device)
    : kind_(parse_loss(loss)) {
  const int64_t n = int64_t(item_counts.size());
  const float minus_inf = -std::numeric_limits<float>::infinity();
  log_q_in_batch_ = torch::full({n}, minus_inf);
  log_q_negative_ = torch::full({n}, minus_inf);
  double total = 0;
  for (const int64_t c : item_counts) total += double(c);
  float* in_batch = log_q_in_batch_.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i)
    if (item_counts[size_t(i)] > 0)
      in_batch[i] = float(std::log(double(item_counts[size_t(i)]) / total));
  float* negative = log_q_negative_.data_ptr<float>();
  const auto& candidates = sampler.candidates();
  for (size_t k = 0; k < candidates.size(); ++k)
    negative[candidates[k]] = float(std::log(sampler.probability(k)));
  // Once, not per step: the tables are read by every softmax step on the model's device.
  log_q_in_batch_ = log_q_in_batch_.to(device);
  log_q_negative_ = log_q_negative_.to(device);
}

BatchLossValue BatchLoss::operator()(Recommender& model, const Batch& batch,
                                     const ItemFeatures& features, ItemSide* side,
                                     const BatchDraws& draws, dist::TensorCollectives* ranks,
                                     int rank) const {
  const torch::Device device = model.device();
  const torch::Tensor users = batch.users.to(device), items = batch.items.to(device);
  const double global = double(batch.global_pairs), local = double(batch.users.size(0));
  BatchLossValue out;
  if (kind_ == Kind::kBce) {
    const torch::Tensor logits = model.forward(users, items, features, side, draws);
    out.loss = torch::binary_cross_entropy_with_logits(
                   logits.to(torch::kFloat), batch.labels.to(device), {}, {}, at::Reduction::Sum) /
               global;
    out.reported = out.loss.item<double>();
    return out;
  }
  const int64_t positives = batch.global_positives;
  const torch::Tensor owner = batch.global_owner.to(device);
  const torch::Tensor global_items = batch.global_items.to(device);
  const torch::Tensor places = batch.positions.to(device);
  if (kind_ == Kind::kSoftmax && model.network()->dot()) {
    // In-batch softmax: every positive's user against every pair's item (the batch's positive
    // items, drawn ∝ popularity, and its sampled negatives), each corrected by its log q.
    const Recommender::PairVectors v = model.pair_vectors(users, items, features, side, draws);
    const torch::Tensor local_positive = batch.labels.to(device).gt(0.5).nonzero().squeeze(1);
    const torch::Tensor user_rows = rows_at_global_places(
        ranks, rank, v.users.index_select(0, local_positive).to(torch::kFloat),
        places.index_select(0, local_positive), positives);
    const torch::Tensor item_rows =
        rows_at_global_places(ranks, rank, v.items.to(torch::kFloat), places, batch.global_pairs);
    const torch::Tensor temperature =
        gradient_on_root(model.network()->dot_temperature(), ranks, rank);
    const torch::Tensor log_q =
        torch::cat({log_q_in_batch_.index_select(0, global_items.narrow(0, 0, positives)),
                    log_q_negative_.index_select(
                        0, global_items.narrow(0, positives, batch.global_pairs - positives))});
    out.loss = in_batch_softmax_loss(user_rows, item_rows, temperature, global_items, log_q);
  } else {
    const torch::Tensor logits = rows_at_global_places(
        ranks, rank, model.forward(users, items, features, side, draws).to(torch::kFloat), places,
        batch.global_pairs);
    if (kind_ == Kind::kBpr) {
      out.loss = bpr_loss(logits, positives, owner);
    } else {
      // Each positive against its own negatives; every candidate (the positive included, as its
      // expected count under the sampler) corrected by the sampler's log q.
      out.loss = grouped_softmax_loss(logits, positives, owner,
                                      log_q_negative_.index_select(0, global_items));
    }
  }
  // Every rank holds the whole loss: its share of the report is its part of the pairs.
  out.reported = out.loss.item<double>() * (global > 0 ? local / global : 0.0);
  return out;
}

}  // namespace pixelrec::model
