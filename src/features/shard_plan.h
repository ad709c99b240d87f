// Item shards for N ranks: contiguous ranges of the catalogue (in item-index order) balanced by
// training interactions, so each rank reads one hyperslab of the feature store and gets about
// 1/N of the training work. Deterministic: a pure function of the weights and N.
#pragma once

#include <cstdint>
#include <vector>

namespace pixelrec::features {

struct ItemRange {
  uint32_t begin = 0;  // first item index
  uint32_t end = 0;    // one past the last
  uint32_t size() const { return end - begin; }
  bool contains(uint32_t item) const { return item >= begin && item < end; }
};

struct ShardPlan {
  std::vector<ItemRange> shards;  // one per rank, covering [0, items) without gaps or overlap
  std::vector<int64_t> load;      // the summed weight of each shard
  int rank_of(uint32_t item) const;
};

// weights[i] >= 0 (e.g. training interactions of item i); every item also counts 1 so that
// cold items spread too. Boundaries are placed where the cumulative weight crosses k/N of the
// total, so each shard's load is within one item's weight of total/N. world >= 1; a world larger
// than the number of items leaves some shards empty.
ShardPlan make_shard_plan(const std::vector<int64_t>& weights, int world);

}  // namespace pixelrec::features
