// Item-sharded embedding tables across ranks: each rank of a distributed run keeps the item-table
// rows (and their optimizer state) of its item shard only; checkpoints and digests need the whole
// table, which gather_item_table assembles on every rank (a collective) and shard_item_table
// splits again.
#pragma once

#include <string>

#include "distributed/communicator.h"
#include "model/recommender.h"

namespace pixelrec::model {

// Collective (every rank calls it with its sharded model): afterwards every rank's model holds the
// full item table, rows in catalogue order, the unknown row (identical on every rank) last.
void gather_item_table(Recommender& model, dist::Communicator& comm);

// Runs `fn` with the whole item table present on every rank (gathered when sharded, then sharded
// again to the same rows): checkpoint writes and digests see the world-size-independent model.
template <class Fn>
void with_full_item_table(Recommender& model, dist::Communicator& comm, Fn&& fn) {
  if (!model.items_sharded()) {
    fn();
    return;
  }
  const int64_t begin = model.item_rows_begin(), end = model.item_rows_end();
  gather_item_table(model, comm);
  fn();
  model.shard_items(begin, end);
}

// "item rows [b, e) of N + the unknown row (X MiB with optimizer state)" for the log.
std::string describe_item_shard(Recommender& model);

}  // namespace pixelrec::model
