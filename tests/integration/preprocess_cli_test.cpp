// `pixelrec preprocess` on a corrupted synthetic dataset: every injected fault is rejected or
// repaired where the manifest says, clean data survives, raw files stay untouched, a second run
// does nothing, the k-core matches a brute-force recount, and user errors exit 1 in one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/hash.h"
#include "data/csv.h"
#include "support/test_support.h"

namespace pixelrec {
namespace {

using nlohmann::json;
using test::read_text;
using test::run_pixelrec;
using test::ScratchDir;
using test::shell_quote;
using test::write_text;
namespace fs = std::filesystem;

std::map<std::string, std::string> hash_tree(const fs::path& root) {
  std::map<std::string, std::string> hashes;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file())
      hashes[fs::relative(entry.path(), root).string()] =
          Hasher().add_file_contents(entry.path()).hex();
  return hashes;
}

std::map<std::string, fs::file_time_type> mtimes(const fs::path& root) {
  std::map<std::string, fs::file_time_type> times;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    times[fs::relative(entry.path(), root).string()] = entry.last_write_time();
  return times;
}

// "item_id,user_id,timestamp" of every row, sorted, for multiset comparisons.
std::vector<std::string> interaction_keys(const CsvTable& table) {
  const size_t item = *table.column("item_id"), user = *table.column("user_id"),
               timestamp = *table.column("timestamp");
  std::vector<std::string> keys;
  for (size_t r = 0; r < table.rows(); ++r)
    keys.push_back(table.columns[item][r] + "," + table.columns[user][r] + "," +
                   table.columns[timestamp][r]);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// The line of `output` that carries pixelrec's error message.
std::string error_line(const std::string& output) {
  std::istringstream lines(output);
  std::string line, found;
  while (std::getline(lines, line))
    if (line.rfind("pixelrec: error: ", 0) == 0) found = line;
  return found;
}

class PreprocessCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = std::make_unique<ScratchDir>("preprocess_cli");
    synth_ = run_pixelrec("synth --preset tiny --seed 7 --corrupt-frac 0.05 --no-progress --out " +
                          shell_quote(raw_dir().string()));
    if (synth_.exit_code == 0) raw_hashes_ = hash_tree(raw_dir());
  }
  static void TearDownTestSuite() { scratch_.reset(); }

  void SetUp() override {
    ASSERT_EQ(synth_.exit_code, 0) << synth_.output;
    manifest_ = json::parse(read_text(raw_dir() / "synth_manifest.json"));
  }

  static fs::path raw_dir() { return scratch_->path() / "raw"; }

  // A fresh output folder for one test, and a config that reads `raw` and writes there.
  fs::path make_config(const std::string& name, int min_user = 0, int min_item = 0,
                       const fs::path& raw = raw_dir()) const {
    const fs::path out = scratch_->path() / name;
    std::ostringstream yaml;
    yaml << "data:\n"
         << "  item_info_path: '" << (raw / "item_info.csv").string() << "'\n"
         << "  interactions_path: '" << (raw / "interactions.csv").string() << "'\n"
         << "  image_folder: '" << (raw / "images").string() << "'\n"
         << "  processed_item_info_path: '" << (out / "item_info.csv").string() << "'\n"
         << "  processed_interactions_path: '" << (out / "interactions.csv").string() << "'\n"
         << "  processed_image_destination_folder: '" << (out / "images").string() << "'\n"
         << "  splitting:\n"
         << "    min_interactions_per_user: " << min_user << "\n"
         << "    min_interactions_per_item: " << min_item << "\n";
    write_text(scratch_->path() / (name + ".yaml"), yaml.str());
    return scratch_->path() / (name + ".yaml");
  }

  static test::CommandResult preprocess(const fs::path& config, const std::string& flags = "") {
    return run_pixelrec("preprocess --config " + shell_quote(config.string()) + " " + flags);
  }

  fs::path out_dir(const std::string& name) const { return scratch_->path() / name; }

  static inline std::unique_ptr<ScratchDir> scratch_;
  static inline test::CommandResult synth_;
  static inline std::map<std::string, std::string> raw_hashes_;
  json manifest_;
};

std::set<std::string> issue_keys(const CsvTable& table, bool repairs) {
  const size_t file = *table.column("file"), line = *table.column("line"), id = *table.column("id"),
               reason = *table.column("reason");
  std::set<std::string> keys;
  for (size_t r = 0; r < table.rows(); ++r) {
    const bool image = table.columns[line][r].empty();
    std::string key = table.columns[file][r] + "|" +
                      (image ? table.columns[id][r] : table.columns[line][r]) + "|" +
                      table.columns[reason][r];
    if (repairs) key += "|" + table.columns[*table.column("field")][r];
    keys.insert(key);
  }
  return keys;
}

std::string fault_key(const json& fault) {
  const std::string where = fault["line"].is_null() ? fault["id"].get<std::string>()
                                                    : std::to_string(fault["line"].get<size_t>());
  std::string key =
      fault["file"].get<std::string>() + "|" + where + "|" + fault["reason"].get<std::string>();
  if (fault["expect"] == "repair" && !fault["field"].is_null())
    key += "|" + fault["field"].get<std::string>();
  return key;
}

TEST_F(PreprocessCli, EveryManifestFaultIsRejectedOrRepairedAtItsPlace) {
  const auto result = preprocess(make_config("faults"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto rejects = issue_keys(read_csv_table(out_dir("faults") / "rejects.csv"), false);
  const auto repairs = issue_keys(read_csv_table(out_dir("faults") / "repairs.csv"), true);
  ASSERT_GE(manifest_["faults"].size(), 15u);  // every kind at least once
  size_t checked = 0;
  for (const json& fault : manifest_["faults"]) {
    const bool reject = fault["expect"] == "reject";
    const auto& found = reject ? rejects : repairs;
    EXPECT_EQ(found.count(fault_key(fault)), 1u)
        << fault.dump() << " is missing from " << (reject ? "rejects.csv" : "repairs.csv");
    ++checked;
  }
  EXPECT_EQ(checked, manifest_["faults"].size());
}

TEST_F(PreprocessCli, EveryCleanItemAndInteractionSurvives) {
  const auto result = preprocess(make_config("clean"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // Items: every item of the ground truth except those whose only row or image is faulty.
  std::set<std::string> rejected_items, faulty_lines;
  for (const json& fault : manifest_["faults"]) {
    const std::string file = fault["file"];
    if (file == "interactions.csv")
      faulty_lines.insert(std::to_string(fault["line"].get<size_t>()));
    else if (fault["expect"] == "reject" && fault["kind"] != "row_duplicate_item")
      rejected_items.insert(fault["id"].get<std::string>());
  }
  const CsvTable truth = read_csv_table(raw_dir() / "ground_truth" / "items.csv");
  std::set<std::string> expected_items;
  for (const auto& id : truth.columns[*truth.column("item_id")])
    if (rejected_items.count(id) == 0) expected_items.insert(id);
  const CsvTable items = read_csv_table(out_dir("clean") / "item_info.csv");
  const auto& item_ids = items.columns[*items.column("item_id")];
  EXPECT_EQ(std::set<std::string>(item_ids.begin(), item_ids.end()), expected_items);
  EXPECT_EQ(item_ids.size(), expected_items.size());

  // Interactions: every row the manifest does not mark, whose item survived.
  CsvReader raw = CsvReader::from_file(raw_dir() / "interactions.csv");
  const size_t item = raw.require_column("item_id"), user = raw.require_column("user_id"),
               timestamp = raw.require_column("timestamp");
  std::vector<std::string> expected;
  CsvRow row;
  while (raw.next(row)) {
    if (faulty_lines.count(std::to_string(row.line)) != 0) continue;
    ASSERT_TRUE(row.error.empty()) << "unmarked malformed row at line " << row.line;
    if (expected_items.count(row.fields[item]) == 0) continue;
    expected.push_back(row.fields[item] + "," + row.fields[user] + "," + row.fields[timestamp]);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(interaction_keys(read_csv_table(out_dir("clean") / "interactions.csv")), expected);
}

TEST_F(PreprocessCli, RawFilesStayByteIdentical) {
  const auto config = make_config("raw_untouched");
  ASSERT_EQ(preprocess(config).exit_code, 0);
  ASSERT_EQ(preprocess(config, "--force-reprocess").exit_code, 0);
  EXPECT_EQ(hash_tree(raw_dir()), raw_hashes_);
}

TEST_F(PreprocessCli, SecondRunDoesNothingAndForceRedoesIt) {
  const auto config = make_config("twice");
  const auto first = preprocess(config);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto before = mtimes(out_dir("twice"));
  const auto hashes = hash_tree(out_dir("twice"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  const auto second = preprocess(config);
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_NE(second.output.find("processed data is up to date"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("use --force-reprocess to redo it"), std::string::npos);
  EXPECT_EQ(mtimes(out_dir("twice")), before);

  const auto forced = preprocess(config, "--force_reprocess");
  EXPECT_EQ(forced.exit_code, 0);
  EXPECT_EQ(forced.output.find("up to date"), std::string::npos) << forced.output;
  EXPECT_NE(fs::last_write_time(out_dir("twice") / "preprocess_report.json"),
            before.at("preprocess_report.json"));
  EXPECT_NE(fs::last_write_time(out_dir("twice") / "item_info.csv"), before.at("item_info.csv"));
  // Redone, the outputs are the same bytes (the report's timings aside).
  auto redone = hash_tree(out_dir("twice"));
  redone.erase("preprocess_report.json");
  auto expected = hashes;
  expected.erase("preprocess_report.json");
  EXPECT_EQ(redone, expected);
}

TEST_F(PreprocessCli, KCoreRemovesExactlyWhatABruteForceRecountRemoves) {
  ASSERT_EQ(preprocess(make_config("kcore_off")).exit_code, 0);
  const auto on = preprocess(make_config("kcore_on", 5, 5));
  ASSERT_EQ(on.exit_code, 0) << on.output;
  const CsvTable all = read_csv_table(out_dir("kcore_off") / "interactions.csv");
  std::vector<std::string> users = all.columns[1], items = all.columns[0];
  std::vector<bool> keep(all.rows(), true);
  for (bool changed = true; changed;) {
    changed = false;
    std::map<std::string, int> per_user, per_item;
    for (size_t r = 0; r < keep.size(); ++r)
      if (keep[r]) ++per_user[users[r]], ++per_item[items[r]];
    for (size_t r = 0; r < keep.size(); ++r) {
      if (keep[r] && (per_user[users[r]] < 5 || per_item[items[r]] < 5)) {
        keep[r] = false;
        changed = true;
      }
    }
  }
  std::vector<std::string> survivors;
  std::set<std::string> users_before(users.begin(), users.end()),
      items_before(items.begin(), items.end());
  std::set<std::string> users_after, items_after;
  for (size_t r = 0; r < keep.size(); ++r) {
    if (!keep[r]) continue;
    survivors.push_back(items[r] + "," + users[r] + "," + all.columns[2][r]);
    users_after.insert(users[r]);
    items_after.insert(items[r]);
  }
  std::sort(survivors.begin(), survivors.end());
  ASSERT_LT(survivors.size(), all.rows());  // the filter has something to do
  EXPECT_EQ(interaction_keys(read_csv_table(out_dir("kcore_on") / "interactions.csv")), survivors);

  const json report = json::parse(read_text(out_dir("kcore_on") / "preprocess_report.json"));
  const json& filter = report["steps"]["activity_filter"];
  EXPECT_EQ(filter["removed_interactions"], all.rows() - survivors.size());
  EXPECT_EQ(filter["removed_users"], users_before.size() - users_after.size());
  EXPECT_EQ(filter["removed_items"], items_before.size() - items_after.size());
  EXPECT_GE(filter["rounds"], 1);
  // The catalogue keeps items that lost their interactions: they are cold items now.
  EXPECT_EQ(read_text(out_dir("kcore_on") / "item_info.csv"),
            read_text(out_dir("kcore_off") / "item_info.csv"));
}

class PreprocessCliErrors : public ::testing::Test {
 protected:
  PreprocessCliErrors() {
    write_text(dir_ / "raw" / "item_info.csv",
               "item_id,title,description,tag,view_number\n1,a,b,c,5\n");
    write_text(dir_ / "raw" / "interactions.csv", "item_id,user_id,timestamp\n1,u1,100\n");
    fs::create_directories(dir_ / "raw" / "images");
    write_text(dir_ / "config.yaml",
               "data:\n  item_info_path: '" + raw("item_info.csv") + "'\n" +
                   "  interactions_path: '" + raw("interactions.csv") + "'\n" +
                   "  image_folder: '" + raw("images") + "'\n" + "  processed_item_info_path: '" +
                   (dir_ / "out" / "items.csv").string() + "'\n  processed_interactions_path: '" +
                   (dir_ / "out" / "interactions.csv").string() +
                   "'\n  processed_image_destination_folder: '" +
                   (dir_ / "out" / "images").string() + "'\n");
  }
  std::string raw(const std::string& name) const { return (dir_ / "raw" / name).string(); }
  test::CommandResult preprocess() const {
    return run_pixelrec("preprocess --config " + shell_quote((dir_ / "config.yaml").string()));
  }
  // Preprocesses an item file without counters (numeric columns off) and these interactions.
  test::CommandResult preprocess_interactions(const std::string& interactions_csv) const {
    write_text(raw("item_info.csv"), "item_id\n1\n");
    write_text(raw("interactions.csv"), interactions_csv);
    write_text(dir_ / "extra.yaml", "data:\n  numerical_features_cols: []\n");
    return run_pixelrec("preprocess --config " + shell_quote((dir_ / "config.yaml").string()) +
                        " --config " + shell_quote((dir_ / "extra.yaml").string()));
  }
  ScratchDir dir_{"preprocess_cli_errors"};
};

TEST_F(PreprocessCliErrors, KeepsTheTitleAsWrittenForDisplayBesideTheCleanedOne) {
  write_text(raw("item_info.csv"),
             "item_id,title,description,tag,view_number\n"
             "1,\"Mission:   Impossible (1996)\",d,Action,5\n"
             "2,\"<b>Saint, The</b> (1997) &amp; more\",d,Action,5\n"
             "3,,d,Action,5\n");
  write_text(raw("interactions.csv"), "item_id,user_id,timestamp\n1,u1,100\n2,u1,101\n");
  write_text(dir_ / "extra.yaml",
             "data:\n  numerical_features_cols: [view_number]\n  require_image: false\n");
  const auto result =
      run_pixelrec("preprocess --config " + shell_quote((dir_ / "config.yaml").string()) +
                   " --config " + shell_quote((dir_ / "extra.yaml").string()));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const CsvTable items = read_csv_table(dir_ / "out" / "items.csv");
  const auto column = [&](const std::string& name) {
    const auto at = std::find(items.header.begin(), items.header.end(), name);
    EXPECT_NE(at, items.header.end()) << name;
    return items.columns.at(static_cast<size_t>(at - items.header.begin()));
  };
  EXPECT_EQ(column("title"), (std::vector<std::string>{"mission: impossible (1996)",
                                                       "saint, the (1997) & more", ""}));
  EXPECT_EQ(column("display_title"), (std::vector<std::string>{"Mission: Impossible (1996)",
                                                               "Saint, The (1997) & more", ""}));
}

TEST_F(PreprocessCliErrors, MissingNumericColumnExitsOneNamingFileAndColumn) {
  const auto result = preprocess();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(error_line(result.output),
            "pixelrec: error: '" + raw("item_info.csv") +
                "' has no column 'comment_number', which data.numerical_features_cols lists "
                "(columns present: item_id, title, description, tag, view_number); add the column "
                "to the file or remove it from data.numerical_features_cols")
      << result.output;
}

TEST_F(PreprocessCliErrors, MissingInteractionColumnExitsOneNamingFileAndColumn) {
  const auto result = preprocess_interactions("item_id,timestamp\n1,100\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(error_line(result.output),
            "pixelrec: error: '" + raw("interactions.csv") +
                "' has no column 'user_id' (columns present: item_id, timestamp); add the column "
                "or point the config at the right file")
      << result.output;
}

TEST_F(PreprocessCliErrors, HeaderOnlyInteractionsExitOneNamingTheProblem) {
  const auto result = preprocess_interactions("item_id,user_id,timestamp\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(error_line(result.output),
            "pixelrec: error: '" + raw("interactions.csv") +
                "' has a header but no interaction rows; add the interactions or point "
                "data.interactions_path at the right file")
      << result.output;
}

}  // namespace
}  // namespace pixelrec
