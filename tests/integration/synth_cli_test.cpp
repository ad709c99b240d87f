// `pixelrec synth` end to end: reproducible trees, the corrupted dataset's manifest, usage errors
// (exit 2, naming the flag) and the help text.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "support/test_support.h"

namespace pixelrec::test {
namespace {

CommandResult synth(const fs::path& out, const std::string& args) {
  return run_pixelrec("synth --out " + shell_quote(out.string()) + " --no-progress " + args);
}

TEST(SynthCli, SameSeedTwiceGivesByteIdenticalTreesAndAnotherSeedDiffers) {
  ScratchDir dir("synth_cli_repro");
  const auto a = synth(dir / "a", "--preset tiny --seed 5 --threads 1");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const auto b = synth(dir / "b", "--preset tiny --seed 5 --threads 2");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const auto c = synth(dir / "c", "--preset tiny --seed 6");
  ASSERT_EQ(c.exit_code, 0) << c.output;

  const auto tree_a = read_tree(dir / "a"), tree_b = read_tree(dir / "b");
  EXPECT_EQ(tree_a.size(), 400u + 6u);  // images, 2 CSVs, 2 ground-truth CSVs, manifest, config
  ASSERT_EQ(tree_a.size(), tree_b.size());
  for (const auto& [name, bytes] : tree_a) {
    ASSERT_EQ(tree_b.count(name), 1u) << name;
    EXPECT_TRUE(bytes == tree_b.at(name)) << name << " differs";
  }
  const auto tree_c = read_tree(dir / "c");
  for (const char* name : {"interactions.csv", "item_info.csv", "synth_manifest.json",
                           "ground_truth/items.csv", "ground_truth/users.csv"})
    EXPECT_NE(tree_a.at(name), tree_c.at(name)) << name;
  EXPECT_NE(a.output.find("synth: wrote preset 'tiny' (seed 5)"), std::string::npos) << a.output;
}

TEST(SynthCli, UnderscoreCorruptFracInjectsAllFifteenKinds) {
  ScratchDir dir("synth_cli_corrupt");
  const auto r = synth(dir / "out", "--preset tiny --corrupt_frac 0.05");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto manifest = nlohmann::json::parse(read_text(dir / "out/synth_manifest.json"));
  std::set<std::string> kinds;
  for (const auto& f : manifest["faults"]) kinds.insert(f["kind"].get<std::string>());
  EXPECT_EQ(kinds,
            (std::set<std::string>{"image_truncated", "image_undecodable", "image_too_small",
                                   "image_missing", "row_malformed", "row_short",
                                   "row_duplicate_item", "row_duplicate_interaction",
                                   "bad_timestamp", "empty_id", "text_html", "text_invalid_utf8",
                                   "numeric_nan", "numeric_negative", "numeric_non_numeric"}));
  size_t total = 0;
  for (const auto& [kind, count] : manifest["fault_counts"].items()) total += count.get<size_t>();
  EXPECT_EQ(total, manifest["faults"].size());
  EXPECT_EQ(total, 320u);
  EXPECT_EQ(manifest["corrupt_frac"], 0.05);
  EXPECT_TRUE(fs::exists(dir / "out/synth_config.yaml"));
}

struct BadArgs {
  std::string args;
  std::string message;
};

TEST(SynthCli, BadArgumentsExitWithTwoAndNameTheFlag) {
  ScratchDir dir("synth_cli_bad");
  const std::vector<BadArgs> cases = {
      {"--preset huge",
       "--preset 'huge' is unknown; allowed: tiny, small, pixelrec50k (use "
       "--users/--items/--interactions to change sizes)"},
      {"--corrupt-frac 0.7",
       "--corrupt-frac must be in [0, 0.5], got 0.7 (use e.g. 0.05 for 5% faulty items and rows)"},
      {"--image-size 8", "--image-size must be between 16 and 2048 pixels, got 8"},
      {"--users 300 --interactions 100",
       "--interactions must be between 5 * users (1500) and users * items / 2 (60000), got 100 "
       "(change --interactions or the sizes)"},
  };

  for (const auto& c : cases) {
    const auto r = synth(dir / "out", c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_EQ(r.output, "pixelrec: usage error: " + c.message + "\n") << c.args;
    EXPECT_FALSE(fs::exists(dir / "out")) << c.args;
  }
}

TEST(SynthCli, HelpListsThePresetsAndDefaults) {
  const auto r = run_pixelrec("synth --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text :
       {"tiny         300 / 400 / 6,000 / 72 / 6", "small        3,000 / 2,500 / 60,000 / 96 / 10",
        "pixelrec50k  50,000 / 82,865 / 989,494 / 96 / 24", "--corrupt-frac", "--seed UINT=42",
        "--preset TEXT=tiny", "--out TEXT REQUIRED"})
    EXPECT_NE(r.output.find(text), std::string::npos) << text << "\n" << r.output;
}

}  // namespace
}  // namespace pixelrec::test
