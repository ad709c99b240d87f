#include "infer/recommendation_io.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/errors.h"
#include "core/files.h"
#include "core/rng.h"
#include "core/strings.h"
#include "data/csv.h"
#include "data/preprocess.h"

namespace pixelrec::infer {

namespace {

constexpr uint64_t kSampleUsersPurpose = 0x73616d706c65ull;  // "sample"

std::string where(const std::filesystem::path& path, size_t line) {
  return "'" + path.string() + "' line " + std::to_string(line);
}

// Scores come from float scorers: the shortest text that reads back as the same float.
std::string format_score(double score) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, float(score));
  return std::string(buffer, result.ptr);
}

// The double that format_score's text denotes, so JSON shows 0.3 rather than 0.30000001192...
double rounded_score(double score) {
  const std::string text = format_score(score);
  double value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::string_view strip_bom(std::string_view text) {
  return starts_with(text, "\xEF\xBB\xBF") ? text.substr(3) : text;
}

// Lines with their 1-based numbers; a trailing '\r' goes with trim().
std::vector<std::pair<size_t, std::string_view>> numbered_lines(std::string_view text) {
  std::vector<std::pair<size_t, std::string_view>> lines;
  size_t line = 1;
  for (size_t start = 0; start <= text.size(); ++line) {
    const size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back({line, text.substr(start, end - start)});
    start = end + 1;
  }
  return lines;
}

bool is_user_id_header(std::string_view line) {
  for (const std::string& field : split(line, ','))
    if (trim(field) == "user_id" || trim(field) == "\"user_id\"") return true;
  return false;
}

std::vector<std::string> read_user_csv(const std::filesystem::path& path, std::string data,
                                       size_t first_line) {
  CsvReader reader(std::move(data), path.string());
  const size_t column = reader.require_column("user_id");
  std::vector<std::string> ids;
  CsvRow row;
  while (reader.next(row)) {
    const size_t line = row.line + first_line - 1;
    if (!row.error.empty()) throw Error(where(path, line) + ": " + row.error + "; fix the row");
    if (row.fields.size() <= column || trim(row.fields[column]).empty())
      throw Error(where(path, line) + ": empty user_id; give every row a user id or delete it");
    ids.emplace_back(trim(row.fields[column]));
  }
  return ids;
}

}  // namespace

std::vector<std::string> load_item_titles(const std::filesystem::path& item_info_csv,
                                          const IdMap& items) {
  if (!std::filesystem::exists(item_info_csv))
    throw Error("item file '" + item_info_csv.string() +
                "' does not exist; titles come from the processed item file: run `pixelrec "
                "preprocess` or set data.processed_item_info_path");
  CsvReader reader = CsvReader::from_file(item_info_csv);
  const size_t id_column = reader.require_column("item_id");
  // Files from before display_title existed show the cleaned title.
  auto title_column = reader.column(kDisplayTitleColumn);
  if (!title_column) title_column = reader.column("title");
  std::vector<std::string> titles(items.size());
  if (!title_column) return titles;
  CsvRow row;
  while (reader.next(row)) {
    if (!row.error.empty())
      throw Error(where(item_info_csv, row.line) + ": " + row.error +
                  "; regenerate the file with `pixelrec preprocess`");
    if (row.fields.size() <= std::max(id_column, *title_column)) continue;
    if (const auto item = items.find(row.fields[id_column]))
      titles[*item] = row.fields[*title_column];
  }
  return titles;
}

std::vector<std::string> read_user_file(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path))
    throw Error("user file '" + path.string() +
                "' does not exist; give one user id per line or a CSV with a user_id column");
  const std::string text = read_file(path, "user file");
  const std::string_view body = strip_bom(text);
  const auto lines = numbered_lines(body);

  const auto header = std::find_if(lines.begin(), lines.end(),
                                   [](const auto& l) { return !trim(l.second).empty(); });
  std::vector<std::string> ids;
  if (header != lines.end() && is_user_id_header(header->second)) {
    const size_t offset = size_t(header->second.data() - body.data());
    ids = read_user_csv(path, std::string(body.substr(offset)), header->first);
  } else {
    for (const auto& [line, content] : lines) {
      const std::string_view id = trim(content);
      if (id.empty()) continue;
      if (id.find(',') != std::string_view::npos)
        throw Error(where(path, line) + ": '" + std::string(id) +
                    "' has a comma, but the file has no user_id header; give one id per line, "
                    "or a CSV whose first row names a user_id column");
      ids.emplace_back(id);
    }
  }
  if (ids.empty())
    throw Error("user file '" + path.string() +
                "' holds no user ids; give one id per line or a CSV with a user_id column");
  return ids;
}

std::vector<std::string> sample_users(const SplitData& split, size_t n, uint64_t seed) {
  if (n == 0) throw UsageError("--sample-users 0 asks for no users; pass 1 or more");
  const uint32_t total = split.num_train_users();
  std::vector<uint32_t> order(total);
  for (uint32_t u = 0; u < total; ++u) order[u] = u;
  const size_t take = std::min<size_t>(n, total);
  Rng rng = Rng::stream(seed, {kSampleUsersPurpose});
  for (size_t i = 0; i < take; ++i)  // partial Fisher-Yates: the first `take` are the sample
    std::swap(order[i], order[i + rng.below(total - i)]);
  order.resize(take);
  std::sort(order.begin(), order.end());
  std::vector<std::string> ids;
  ids.reserve(take);
  for (uint32_t u : order) ids.push_back(split.user_map.id(u));
  return ids;
}

void write_recommendations(const std::filesystem::path& path,
                           const std::vector<UserRecommendations>& recs) {
  ensure_parent_directory(path);
  if (to_lower_ascii(path.extension().string()) == ".csv") {
    std::ostringstream out;
    CsvWriter csv(out);
    csv.write_row({"user_id", "rank", "item_id", "title", "score", "source"});
    for (const auto& user : recs)
      for (const auto& r : user.items)
        csv.write_row({user.user_id, std::to_string(r.rank), r.item_id, r.title,
                       format_score(r.score), user.source});
    write_file_atomic(path, out.str());
    return;
  }
  auto users = nlohmann::ordered_json::array();
  for (const auto& user : recs) {
    auto items = nlohmann::ordered_json::array();
    for (const auto& r : user.items)
      items.push_back({{"rank", r.rank},
                       {"item_id", r.item_id},
                       {"title", r.title},
                       {"score", rounded_score(r.score)}});
    users.push_back({{"user_id", user.user_id}, {"source", user.source}, {"items", items}});
  }
  const nlohmann::ordered_json doc = {{"users", users}};
  write_file_atomic(
      path, doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
}

}  // namespace pixelrec::infer
