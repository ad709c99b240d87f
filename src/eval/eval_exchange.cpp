// Cross-rank steps of evaluate(): gathering per-user rows, agreeing on failures, reducing
// timings; and writing the predictions file (rank 0).
#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/errors.h"
#include "core/files.h"
#include "data/csv.h"
#include "eval/eval_internal.h"

namespace pixelrec::eval::internal {

namespace {

constexpr size_t kMaxGatherBytes = size_t(256) << 20;  // receive buffer bound per allgather
constexpr size_t kFailureMessageBytes = 1024;

}  // namespace

std::pair<size_t, size_t> rank_share(size_t count, int rank, int size) {
  return {count * size_t(rank) / size_t(size), count * size_t(rank + 1) / size_t(size)};
}

void gather_rows(dist::Communicator& comm, const void* local, size_t row_bytes, size_t total_rows,
                 void* out) {
  const int size = comm.size();
  const auto [begin, end] = rank_share(total_rows, comm.rank(), size);
  if (row_bytes == 0) return;
  if (size == 1) {
    if (total_rows > 0) std::memcpy(out, local, total_rows * row_bytes);
    return;
  }
  size_t max_rows = 0;
  for (int r = 0; r < size; ++r) {
    const auto [b, e] = rank_share(total_rows, r, size);
    max_rows = std::max(max_rows, e - b);
  }
  // Ranks' shares differ by at most one row; shorter ones are padded within the message only.
  const size_t chunk_rows = std::max<size_t>(1, kMaxGatherBytes / (size_t(size) * row_bytes));
  const size_t chunk_bytes = std::min(chunk_rows, std::max<size_t>(max_rows, 1)) * row_bytes;
  std::vector<char> send(chunk_bytes), receive(chunk_bytes * size_t(size));
  const char* local_bytes = static_cast<const char*>(local);
  char* out_bytes = static_cast<char*>(out);
  for (size_t first = 0; first < max_rows; first += chunk_rows) {
    const size_t mine = first < end - begin ? std::min(chunk_rows, end - begin - first) : 0;
    if (mine > 0) std::memcpy(send.data(), local_bytes + first * row_bytes, mine * row_bytes);
    std::memset(send.data() + mine * row_bytes, 0, chunk_bytes - mine * row_bytes);
    comm.allgather(send.data(), chunk_bytes, receive.data());
    for (int r = 0; r < size; ++r) {
      const auto [b, e] = rank_share(total_rows, r, size);
      const size_t rows = first < e - b ? std::min(chunk_rows, e - b - first) : 0;
      if (rows > 0)
        std::memcpy(out_bytes + (b + first) * row_bytes, receive.data() + size_t(r) * chunk_bytes,
                    rows * row_bytes);
    }
  }
}

void raise_if_any_rank_failed(dist::Communicator& comm, const std::exception_ptr& failure) {
  std::vector<char> message(kFailureMessageBytes, 0);
  if (failure) {
    std::string text = "unknown exception";
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      text = e.what();
    } catch (...) {
    }
    message[0] = 1;
    std::memcpy(message.data() + 1, text.data(), std::min(text.size(), kFailureMessageBytes - 2));
  }
  if (comm.size() == 1) {
    if (failure) std::rethrow_exception(failure);
    return;
  }
  std::vector<char> all(kFailureMessageBytes * size_t(comm.size()));
  comm.allgather(message.data(), kFailureMessageBytes, all.data());
  if (failure) std::rethrow_exception(failure);
  for (int r = 0; r < comm.size(); ++r) {
    const char* theirs = all.data() + size_t(r) * kFailureMessageBytes;
    if (theirs[0] == 0) continue;
    throw Error("evaluation failed on rank " + std::to_string(r) + ": " + std::string(theirs + 1));
  }
}

double max_over_ranks(dist::Communicator& comm, double value) {
  std::vector<double> all(size_t(comm.size()));
  comm.allgather(&value, sizeof value, all.data());
  return *std::max_element(all.begin(), all.end());
}

double sum_over_ranks(dist::Communicator& comm, double value) {
  comm.allreduce_sum(&value, 1);
  return value;
}

void write_predictions(const std::string& path, const SplitData& split,
                       const std::vector<uint32_t>& users, const std::vector<uint32_t>& top_items,
                       const std::vector<float>& top_scores, size_t width) {
  ensure_parent_directory(path);
  write_stream_atomic(path, [&](std::ostream& os) {
    CsvWriter writer(os);
    writer.write_row({"user_id", "rank", "item_id", "score"});
    char rank_text[24], score_text[32];
    for (size_t u = 0; u < users.size(); ++u) {
      const std::string& user_id = split.user_id(users[u]);
      for (size_t pos = 0; pos < width; ++pos) {
        const size_t cell = u * width + pos;
        const char* rank_end = std::to_chars(rank_text, rank_text + sizeof rank_text, pos + 1).ptr;
        const char* score_end =
            std::to_chars(score_text, score_text + sizeof score_text, top_scores[cell]).ptr;
        writer.write_row({user_id, std::string_view(rank_text, size_t(rank_end - rank_text)),
                          split.item_map.id(top_items[cell]),
                          std::string_view(score_text, size_t(score_end - score_text))});
      }
    }
  });
}

}  // namespace pixelrec::eval::internal
