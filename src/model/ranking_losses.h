// The ranking losses of training.loss besides pointwise BCE, on a global batch laid out as
// model/training_batches.h makes it: positives at places [0, P), then the sampled negatives, and
// owner[g] the place of the positive that pair g belongs to (g itself for a positive). Every
// loss is batched over the whole batch (index and scatter ops, no per-sample tensors) and is the
// mean over its terms.
#pragma once

#include <torch/torch.h>

namespace pixelrec::model {

// BPR: mean over the negatives g >= P of -log sigmoid(s[owner[g]] - s[g]); 0 without negatives.
// logits: float [G].
torch::Tensor bpr_loss(const torch::Tensor& logits, int64_t positives, const torch::Tensor& owner);

// Sampled softmax per positive over itself and its own negatives: mean over i < P of
// -log softmax_i(s - log_q) within the group {g : owner[g] = i}. log_q: float [G], the log of
// each candidate's sampling probability (the logQ correction).
torch::Tensor grouped_softmax_loss(const torch::Tensor& logits, int64_t positives,
                                   const torch::Tensor& owner, const torch::Tensor& log_q);

// Sampled softmax over the batch's items: row i (a positive's user vector, users [P, D]) scores
// every pair's item vector (items [G, D]); logits = users · itemsᵀ / temperature − log_q (log_q
// [G]), computed as one addmm; columns holding row i's own item other than column i (accidental
// hits, by item_ids [G]) are masked out; the target is column i. Mean over rows.
torch::Tensor in_batch_softmax_loss(const torch::Tensor& users, const torch::Tensor& items,
                                    const torch::Tensor& temperature, const torch::Tensor& item_ids,
                                    const torch::Tensor& log_q);

}  // namespace pixelrec::model
