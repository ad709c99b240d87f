// Top-k shrunk-cosine neighbours of the rows of a sparse binary matrix, shared by ItemKNN (rows
// are items) and UserKNN (rows are users). Intersections are counted through the transpose with
// a dense per-thread counter and a touched list, so the cost is the number of co-occurrences.
#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "eval/baselines.h"

namespace pixelrec::eval {

namespace {

struct Candidate {
  double similarity;
  uint32_t index;
};

// Higher similarity first, then the lower index: a strict total order, so the kept set is unique.
bool more_similar(const Candidate& a, const Candidate& b) {
  return a.similarity != b.similarity ? a.similarity > b.similarity : a.index < b.index;
}

struct WorkerScratch {
  std::vector<uint32_t> counts;  // per row: columns shared with the current row
  std::vector<uint32_t> touched;
  std::vector<Candidate> candidates;
  std::vector<uint32_t> kept_index;  // every row this worker finished, back to back
  std::vector<float> kept_similarity;
};

struct RowResult {
  uint32_t worker = 0;
  uint64_t offset = 0;  // into that worker's kept_* arrays
  uint32_t count = 0;
};

}  // namespace

float NeighbourLists::find(uint32_t row, uint32_t other) const {
  const uint32_t* first = index.data() + offsets[row];
  const uint32_t* last = index.data() + offsets[row + 1];
  const uint32_t* it = std::lower_bound(first, last, other);
  return it != last && *it == other ? similarity[size_t(it - index.data())] : 0.0f;
}

UserItemIndex transpose(const UserItemIndex& index, uint32_t num_columns) {
  IndexedInteractions swapped;
  swapped.user.reserve(index.total());
  swapped.item.reserve(index.total());
  for (uint32_t row = 0; row < index.num_users(); ++row)
    for (const uint32_t* c = index.begin(row); c != index.end(row); ++c) {
      swapped.user.push_back(*c);
      swapped.item.push_back(row);
    }
  return UserItemIndex(num_columns, swapped);
}

NeighbourLists top_k_cosine_neighbours(const UserItemIndex& rows, const UserItemIndex& columns,
                                       int k, double shrinkage, int threads) {
  const uint32_t n = rows.num_users();
  const size_t keep = size_t(std::max(k, 0));
  std::vector<WorkerScratch> scratch(size_t(std::max(threads, 1)));
  std::vector<RowResult> results(n);

  parallel_for(n, threads, [&](size_t row_index, size_t worker) {
    const uint32_t a = uint32_t(row_index);
    WorkerScratch& s = scratch[worker];
    if (s.counts.empty()) s.counts.assign(n, 0);
    s.touched.clear();
    for (const uint32_t* c = rows.begin(a); c != rows.end(a); ++c)
      for (const uint32_t* b = columns.begin(*c); b != columns.end(*c); ++b)
        if (*b != a && s.counts[*b]++ == 0) s.touched.push_back(*b);

    s.candidates.clear();
    const double size_a = double(rows.count(a));
    for (uint32_t b : s.touched) {
      const double norm = std::sqrt(size_a * double(rows.count(b))) + shrinkage;
      s.candidates.push_back({double(s.counts[b]) / norm, b});
      s.counts[b] = 0;
    }
    if (s.candidates.size() > keep) {
      std::nth_element(s.candidates.begin(), s.candidates.begin() + keep, s.candidates.end(),
                       more_similar);
      s.candidates.resize(keep);
    }
    std::sort(s.candidates.begin(), s.candidates.end(),
              [](const Candidate& x, const Candidate& y) { return x.index < y.index; });
    results[a] = {uint32_t(worker), s.kept_index.size(), uint32_t(s.candidates.size())};
    for (const Candidate& c : s.candidates) {
      s.kept_index.push_back(c.index);
      s.kept_similarity.push_back(float(c.similarity));
    }
  });

  NeighbourLists out;
  out.offsets.assign(size_t(n) + 1, 0);
  for (uint32_t a = 0; a < n; ++a) out.offsets[a + 1] = out.offsets[a] + results[a].count;
  out.index.resize(out.offsets[n]);
  out.similarity.resize(out.offsets[n]);
  for (uint32_t a = 0; a < n; ++a) {
    const RowResult& r = results[a];
    const WorkerScratch& s = scratch[r.worker];
    std::copy_n(s.kept_index.begin() + r.offset, r.count, out.index.begin() + out.offsets[a]);
    std::copy_n(s.kept_similarity.begin() + r.offset, r.count,
                out.similarity.begin() + out.offsets[a]);
  }
  return out;
}

}  // namespace pixelrec::eval
