// The files `synth` writes: layout, headers and counts; byte-identical output for a seed whatever
// the thread count; and the corrupted dataset, whose manifest must point at every fault exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/strings.h"
#include "data/csv.h"
#include "data/synth.h"
#include "support/test_support.h"

namespace pixelrec::synth {
namespace {

using test::read_text;
using test::read_tree;
using test::ScratchDir;
using Json = nlohmann::json;
namespace fs = std::filesystem;

std::map<size_t, CsvRow> rows_by_line(const fs::path& path) {
  CsvReader reader = CsvReader::from_file(path);
  std::map<size_t, CsvRow> rows;
  CsvRow row;
  while (reader.next(row)) rows[row.line] = row;
  return rows;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80           ? 1
                       : (c >> 5) == 0x6  ? 2
                       : (c >> 4) == 0xE  ? 3
                       : (c >> 3) == 0x1E ? 4
                                          : 0;
    if (len == 0 || (len == 2 && c < 0xC2) || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += len;
  }
  return true;
}

// The raw row (and `value`, the field the fault names) shows the fault `kind`.
void expect_row_shows_fault(const std::string& kind, const CsvRow& row, const std::string& value,
                            bool is_items) {
  SCOPED_TRACE(kind + " at line " + std::to_string(row.line));
  if (kind == "row_malformed") {
    EXPECT_EQ(row.error, "unexpected character after closing quote");
  } else if (kind == "row_short") {
    EXPECT_EQ(row.fields.size(), is_items ? 3u : 2u);
  } else if (kind == "bad_timestamp") {
    EXPECT_FALSE(parse_int(row.fields[2]).has_value()) << row.fields[2];
  } else if (kind == "empty_id") {
    EXPECT_EQ(row.fields[1], "");
  } else if (kind == "text_html") {
    EXPECT_NE(value.find("</"), std::string::npos) << value;
  } else if (kind == "text_invalid_utf8") {
    EXPECT_FALSE(valid_utf8(value)) << value;
  } else if (kind == "numeric_nan") {
    EXPECT_FALSE(std::isfinite(parse_double(value).value_or(0))) << value;
  } else if (kind == "numeric_negative") {
    EXPECT_LT(parse_int(value).value_or(0), 0) << value;
  } else if (kind == "numeric_non_numeric") {
    EXPECT_FALSE(parse_double(value).has_value()) << value;
  }
}

SynthParams mini(uint64_t seed, int threads) {
  SynthParams p = preset_params("tiny");
  p.users = 60, p.items = 120, p.interactions = 900, p.image_size = 32, p.topics = 4;
  p.seed = seed, p.threads = threads, p.corrupt_frac = 0.05;
  return p;
}

TEST(SynthOutput, TinyWritesTheContractLayoutAndReplacesAStaleImageFolder) {
  ScratchDir dir("synth_layout");
  test::write_text(dir / "images/stale.jpg", "left over from an earlier run");
  const SynthSummary summary = generate_dataset(preset_params("tiny"), dir.path(), false);

  EXPECT_FALSE(fs::exists(dir / "images/stale.jpg"));
  const auto tree = read_tree(dir.path());
  size_t jpg = 0, png = 0;
  for (const auto& [name, bytes] : tree) {
    if (!starts_with(name, "images/")) continue;
    jpg += ends_with(name, ".jpg");
    png += ends_with(name, ".png");
  }
  EXPECT_EQ(jpg + png, 400u);
  EXPECT_EQ(png, summary.png_images);
  EXPECT_EQ(png, 19u);  // seed 42: 19 of 400 (~5%)
  EXPECT_EQ(tree.size(), 400u + 5u);

  EXPECT_TRUE(starts_with(tree.at("interactions.csv"), "item_id,user_id,timestamp\n"));
  EXPECT_TRUE(starts_with(tree.at("item_info.csv"),
                          "item_id,title,description,tag,view_number,comment_number,"
                          "thumbup_number,share_number,coin_number,favorite_number,"
                          "barrage_number\n"));
  EXPECT_EQ(read_csv_table(dir / "interactions.csv").rows(), 6000u);
  EXPECT_EQ(read_csv_table(dir / "item_info.csv").rows(), 400u);
  const CsvTable items = read_csv_table(dir / "ground_truth/items.csv");
  EXPECT_EQ(items.header,
            (std::vector<std::string>{"item_id", "topic", "release_time", "is_late"}));
  EXPECT_EQ(items.rows(), 400u);
  const CsvTable users = read_csv_table(dir / "ground_truth/users.csv");
  EXPECT_EQ(users.header, (std::vector<std::string>{"user_id", "favourite_topic"}));
  EXPECT_EQ(users.rows(), 300u);

  const Json m = Json::parse(tree.at("synth_manifest.json"));
  EXPECT_EQ(m["format_version"], 1);
  EXPECT_EQ(m["generator"], "pixelrec synth");
  EXPECT_EQ(m["preset"], "tiny");
  EXPECT_EQ(m["seed"], 42);
  EXPECT_EQ(m["users"], 300);
  EXPECT_EQ(m["items"], 400);
  EXPECT_EQ(m["interactions"], 6000);
  EXPECT_EQ(m["image_size"], 72);
  EXPECT_EQ(m["topics"], 6);
  EXPECT_EQ(m["late_item_fraction"], 0.1);
  EXPECT_EQ(m["corrupt_frac"], 0.0);
  EXPECT_EQ(m["files"], Json::parse(R"({"interactions": "interactions.csv",
      "item_info": "item_info.csv", "images": "images"})"));
  EXPECT_EQ(m["faults"], Json::array());
  EXPECT_EQ(m["fault_counts"].size(), kFaultKindCount);
  for (const auto& [kind, count] : m["fault_counts"].items()) EXPECT_EQ(count, 0) << kind;
}

TEST(SynthOutput, SameSeedGivesIdenticalBytesWhateverTheThreadCount) {
  ScratchDir one("synth_threads1"), three("synth_threads3"), other("synth_seed7");
  generate_dataset(mini(42, 1), one.path(), false);
  generate_dataset(mini(42, 3), three.path(), false);
  generate_dataset(mini(7, 3), other.path(), false);
  const auto a = read_tree(one.path()), b = read_tree(three.path()), c = read_tree(other.path());
  ASSERT_EQ(a.size(), 120u - 1u + 5u);  // one image is missing (a fault); 5 CSV/JSON files
  EXPECT_TRUE(a == b);
  for (const char* name : {"interactions.csv", "item_info.csv", "synth_manifest.json",
                           "ground_truth/items.csv", "ground_truth/users.csv"})
    EXPECT_NE(a.at(name), c.at(name)) << name;
}

class SynthCorruptedTiny : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("synth_corrupt");
    SynthParams p = preset_params("tiny");
    p.corrupt_frac = 0.05;
    p.threads = 2;
    generate_dataset(p, dir_->path(), false);
    manifest_ = new Json(Json::parse(read_text(dir_->path() / "synth_manifest.json")));
  }
  static void TearDownTestSuite() {
    delete manifest_;
    delete dir_;
  }
  static const fs::path& root() { return dir_->path(); }
  static const Json& faults() { return (*manifest_)["faults"]; }
  static ScratchDir* dir_;
  static Json* manifest_;
};
ScratchDir* SynthCorruptedTiny::dir_ = nullptr;
Json* SynthCorruptedTiny::manifest_ = nullptr;

TEST_F(SynthCorruptedTiny, EveryKindAppearsAndCountsAddUp) {
  std::map<std::string, int> seen;
  for (const auto& f : faults()) ++seen[f["kind"].get<std::string>()];
  EXPECT_EQ(seen.size(), kFaultKindCount);
  size_t total = 0;
  for (const auto& [kind, count] : (*manifest_)["fault_counts"].items()) {
    EXPECT_EQ(count.get<int>(), seen[kind]) << kind;
    total += count.get<size_t>();
  }
  EXPECT_EQ(total, faults().size());
  EXPECT_EQ(faults().size(), 20u + 300u);  // 5% of 400 items and of 6000 rows
}

TEST_F(SynthCorruptedTiny, EachFaultHasItsContractReasonAndExpectation) {
  for (const auto& f : faults()) {
    const auto kind = f["kind"].get<std::string>();
    for (size_t k = 0; k < kFaultKindCount; ++k) {
      const auto fk = static_cast<FaultKind>(k);
      if (kind != fault_kind_name(fk)) continue;
      EXPECT_EQ(f["reason"], fault_reason(fk));
      EXPECT_EQ(f["expect"], fault_is_repair(fk) ? "repair" : "reject");
    }
  }
  const Json first = faults()[0];
  EXPECT_EQ(first.size(), 7u);  // kind, file, line, id, field, expect, reason
}

TEST_F(SynthCorruptedTiny, ManifestLinesPointAtTheRowWithThatIdAndThatFault) {
  const auto items = rows_by_line(root() / "item_info.csv");
  const auto rows = rows_by_line(root() / "interactions.csv");
  const CsvReader item_columns = CsvReader::from_file(root() / "item_info.csv");
  size_t checked = 0;
  for (const auto& f : faults()) {
    if (f["line"].is_null()) continue;
    const bool is_items = f["file"] == "item_info.csv";
    const auto& table = is_items ? items : rows;
    const auto it = table.find(f["line"].get<size_t>());
    ASSERT_NE(it, table.end()) << f.dump();
    const CsvRow& row = it->second;
    ASSERT_GE(row.fields.size(), 2u) << f.dump();
    EXPECT_EQ(row.fields[is_items ? 0 : 1], f["id"].get<std::string>()) << f.dump();
    const std::string kind = f["kind"];
    const std::string field = f["field"].is_null() ? "" : f["field"].get<std::string>();
    const std::string value = field.empty() ? "" : row.fields[item_columns.require_column(field)];
    expect_row_shows_fault(kind, row, value, is_items);
    if (kind == "row_duplicate_item" || kind == "row_duplicate_interaction") {
      const auto earlier = std::find_if(
          table.begin(), it, [&](const auto& other) { return other.second.fields == row.fields; });
      EXPECT_NE(earlier, it) << f.dump();
    }
    const bool names_field =
        kind == "text_html" || kind == "text_invalid_utf8" || starts_with(kind, "numeric");
    EXPECT_EQ(field.empty(), !names_field) << f.dump();
    ++checked;
  }
  EXPECT_EQ(checked, 320u - 4u * 2u);  // all but the 8 image faults (2 of each image kind)
}

TEST_F(SynthCorruptedTiny, RowsNotInTheManifestAreClean) {
  std::set<std::pair<std::string, size_t>> faulty;
  for (const auto& f : faults())
    if (!f["line"].is_null()) faulty.emplace(f["file"], f["line"].get<size_t>());
  size_t clean_items = 0, clean_rows = 0;
  std::set<std::string> item_ids;
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& [line, row] : rows_by_line(root() / "item_info.csv")) {
    if (faulty.count({"item_info.csv", line})) continue;
    ++clean_items;
    ASSERT_TRUE(row.error.empty()) << line;
    ASSERT_EQ(row.fields.size(), 11u) << line;
    EXPECT_TRUE(item_ids.insert(row.fields[0]).second) << line;
    EXPECT_TRUE(valid_utf8(row.fields[1]) && valid_utf8(row.fields[2])) << line;
    EXPECT_EQ((row.fields[1] + row.fields[2]).find_first_of("<>&"), std::string::npos) << line;
    for (size_t c = 4; c < 11; ++c) EXPECT_GE(parse_int(row.fields[c]).value_or(-1), 0) << line;
  }
  for (const auto& [line, row] : rows_by_line(root() / "interactions.csv")) {
    if (faulty.count({"interactions.csv", line})) continue;
    ++clean_rows;
    ASSERT_TRUE(row.error.empty() && row.fields.size() == 3u) << line;
    EXPECT_FALSE(row.fields[1].empty()) << line;
    EXPECT_TRUE(pairs.emplace(row.fields[0], row.fields[1]).second) << line;
    EXPECT_TRUE(parse_int(row.fields[2]).has_value()) << line;
  }
  // 20 item faults: 8 on images, 2 duplicate copies (their first copies are clean), 10 in place.
  EXPECT_EQ(clean_items, 400u - 10u);
  // 300 row faults: 60 duplicate copies, 240 in place.
  EXPECT_EQ(clean_rows, 6000u - 240u);
}

TEST_F(SynthCorruptedTiny, ImageFaultsAreWhatTheyClaim) {
  size_t checked = 0;
  for (const auto& f : faults()) {
    if (!f["line"].is_null()) continue;
    const std::string kind = f["kind"];
    const fs::path path = root() / f["file"].get<std::string>();
    EXPECT_EQ(f["file"], "images/" + f["id"].get<std::string>() + ".jpg");
    EXPECT_TRUE(f["field"].is_null());
    if (kind == "image_missing") {
      EXPECT_FALSE(fs::exists(path));
      EXPECT_FALSE(fs::exists(fs::path(path).replace_extension(".png")));
      ++checked;
      continue;
    }
    const std::string bytes = read_text(path);
    const std::vector<unsigned char> data(bytes.begin(), bytes.end());
    const cv::Mat decoded = cv::imdecode(data, cv::IMREAD_COLOR);
    if (kind == "image_undecodable") {
      EXPECT_TRUE(decoded.empty()) << path;
    } else if (kind == "image_too_small") {
      EXPECT_EQ(decoded.size(), cv::Size(24, 24)) << path;
    } else {
      EXPECT_EQ(kind, "image_truncated");
      EXPECT_EQ(bytes.substr(0, 2), "\xFF\xD8") << path;
      EXPECT_NE(bytes.substr(bytes.size() - 2), "\xFF\xD9") << path;  // no end-of-image marker
    }
    ++checked;
  }
  EXPECT_EQ(checked, 8u);
}

}  // namespace
}  // namespace pixelrec::synth
