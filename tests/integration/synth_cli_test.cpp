// `pixelrec synth` end to end: reproducible trees, the corrupted dataset's manifest, usage errors
// (exit 2, naming the flag) and the help text.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "data/csv.h"
#include "support/synth_pipeline.h"
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
       "--preset 'huge' is unknown; allowed: tiny, small, pixelrec50k, hard (use "
       "--users/--items/--interactions to change sizes)"},
      {"--corrupt-frac 0.7",
       "--corrupt-frac must be in [0, 0.5], got 0.7 (use e.g. 0.05 for 5% faulty items and rows)"},
      {"--image-size 8", "--image-size must be between 16 and 2048 pixels, got 8"},
      {"--users 300 --interactions 100",
       "--interactions must be between 5 * users (1500) and users * items / 2 (60000), got 100 "
       "(change --interactions or the sizes)"},
      {"--content-signal 2",
       "--content-signal must be in [0, 1], got 2 (1: images and text always show the item's "
       "topic, 0: they show a random topic)"},
      {"--stickiness -0.5",
       "--stickiness must be in [0, 1], got -0.5 (0: independent interactions, 0.7: 70% of "
       "interactions reuse a recent topic)"},
      {"--preset hard --popularity_noise 9",
       "--popularity-noise must be in [0, 5], got 9 (the sigma of log-normal noise on item "
       "popularity; 1 is strong)"},
      {"--popular-share 1.01",
       "--popular-share must be in [0, 1], got 1.01 (0: every interaction follows the user's "
       "topics, 0.25: a quarter follow popularity)"},
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
        "pixelrec50k  50,000 / 82,865 / 989,494 / 96 / 24",
        "hard         3,000 / 2,500 / 60,000 / 96 / 10", "content-signal 0.3, stickiness 0.7",
        "--content-signal", "--stickiness", "--popularity-noise", "--popular-share",
        "--corrupt-frac", "--seed UINT=42", "--preset TEXT=tiny", "--out TEXT REQUIRED"})
    EXPECT_NE(r.output.find(text), std::string::npos) << text << "\n" << r.output;
}

// Share of each user's consecutive interactions (file order is time order) whose items share
// their ground-truth topic.
double consecutive_same_topic(const fs::path& out) {
  const CsvTable items = read_csv_table(out / "ground_truth/items.csv");
  std::map<std::string, std::string> topic;
  for (size_t r = 0; r < items.rows(); ++r) topic[items.columns[0][r]] = items.columns[1][r];
  const CsvTable rows = read_csv_table(out / "interactions.csv");
  std::map<std::string, std::string> last_topic;  // user → topic of their previous interaction
  size_t same = 0, pairs = 0;
  for (size_t r = 0; r < rows.rows(); ++r) {
    const std::string& t = topic.at(rows.columns[0][r]);
    auto [it, first] = last_topic.emplace(rows.columns[1][r], t);
    if (!first) {
      ++pairs;
      same += it->second == t;
      it->second = t;
    }
  }
  return double(same) / double(pairs);
}

TEST(SynthCli, KnobsAreRecordedAndStickinessShowsInTheWrittenOrder) {
  ScratchDir dir("synth_cli_knobs");
  const auto plain = synth(dir / "plain", "--preset tiny");
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  // popular_share stays 0 here: topic-blind draws would dilute the sticky runs.
  const auto sticky = synth(dir / "sticky",
                            "--preset tiny --stickiness 0.8 --content-signal 0.5 "
                            "--popularity_noise 0.5");
  ASSERT_EQ(sticky.exit_code, 0) << sticky.output;
  const auto manifest = nlohmann::json::parse(read_text(dir / "sticky/synth_manifest.json"));
  EXPECT_EQ(manifest["stickiness"], 0.8);
  EXPECT_EQ(manifest["content_signal"], 0.5);
  EXPECT_EQ(manifest["popularity_noise"], 0.5);
  EXPECT_EQ(manifest["popular_share"], 0.0);
  const auto defaults = nlohmann::json::parse(read_text(dir / "plain/synth_manifest.json"));
  EXPECT_EQ(defaults["stickiness"], 0.0);
  EXPECT_EQ(defaults["content_signal"], 1.0);
  // Measured 0.47 (independent draws) and 0.77 (80% reuse one of the last three topics).
  const double independent = consecutive_same_topic(dir / "plain");
  const double repeated = consecutive_same_topic(dir / "sticky");
  EXPECT_LT(independent, 0.55);
  EXPECT_GT(repeated, 0.7);
  EXPECT_GT(repeated - independent, 0.25);

  const auto hard = synth(dir / "hard",
                          "--preset hard --users 300 --items 400 "
                          "--interactions 6000 --image-size 32");
  ASSERT_EQ(hard.exit_code, 0) << hard.output;
  const auto h = nlohmann::json::parse(read_text(dir / "hard/synth_manifest.json"));
  EXPECT_EQ(h["preset"], "hard");
  EXPECT_EQ(h["content_signal"], 0.3);
  EXPECT_EQ(h["stickiness"], 0.7);
  EXPECT_EQ(h["popularity_noise"], 1.0);
  EXPECT_EQ(h["popular_share"], 0.25);
}

// hit_rate@10 of contentknn and random, full ranking on test, on a tiny pipeline whose synth
// command gets `synth_args`.
std::pair<double, double> content_and_random_hit_rate(const fs::path& root,
                                                      const std::string& synth_args) {
  const Pipeline p =
      make_tiny_pipeline_with(root, "evaluation:\n  k_values: [10]\n", 5, synth_args);
  for (const std::string step : {"cache", "evaluate --task full --recommender contentknn,random"}) {
    const auto r = run_pixelrec(step + " " + p.config_arg() + " --log-level warn");
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  const auto metric = [&](const std::string& name) {
    return nlohmann::json::parse(read_text(root / "results/eval" / (name + "_full.json")))
        .at("metrics")
        .at("hit_rate@10")
        .get<double>();
  };
  return {metric("contentknn"), metric("random")};
}

TEST(SynthCli, ContentSignalZeroLeavesContentKnnNearRandom) {
  ScratchDir dir("synth_cli_content");
  const auto [informative, random1] = content_and_random_hit_rate(dir / "one", "");
  const auto [uninformative, random0] =
      content_and_random_hit_rate(dir / "zero", "--content-signal 0");
  // Content reveals the topic: content-KNN is several times random (measured 0.177 vs 0.033).
  EXPECT_GT(informative, 3 * random1);
  // Content shows a random topic: content-KNN falls to about random (measured 0.027 vs 0.033).
  EXPECT_LT(uninformative, 0.4 * informative);
  EXPECT_LT(uninformative, 2 * random0 + 0.01);
}

}  // namespace
}  // namespace pixelrec::test
