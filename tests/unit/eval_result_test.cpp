// Result files: the JSON layout (keys, order, significance block), the per-user CSV and pairing
// two results' per-user values for significance tests.
#include "eval/eval_result.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "support/test_support.h"

namespace pixelrec::eval {
namespace {

EvalResult make_result(std::string name, std::vector<uint32_t> users,
                       std::vector<std::string> names, std::vector<double> per_user) {
  EvalResult r;
  r.recommender = std::move(name);
  r.task = "full";
  r.part = "test";
  r.users = std::move(users);
  r.per_user_names = std::move(names);
  r.per_user = std::move(per_user);
  return r;
}

TEST(ResultJson, HoldsEveryKeyInContractOrder) {
  EvalResult r = make_result("popularity", {0, 2}, {"ndcg@5"}, {0.5, 0.25});
  r.metrics = {{"ndcg@5", 0.375}, {"coverage@5", 0.1}};
  r.skipped = {{"every test item is already in the user's training", 3}};
  r.candidates_per_user_min = 90;
  r.candidates_per_user_max = 99;
  r.seconds_scoring = 2.0;
  r.seconds_total = 3.5;
  r.pairs_scored = 1000;
  r.masked_parts = {"train", "val"};
  r.tie_seed = 42;
  const ResultMeta meta{"abc123", "loo", "runs/best.pt", 42};
  const auto j = result_to_json(r, meta);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"recommender", "task", "part", "split", "seed",
                                            "config_fingerprint", "model", "numeric_source",
                                            "users_evaluated", "skipped", "candidates", "masking",
                                            "ties", "metrics", "timings"}));
  EXPECT_EQ(j["recommender"], "popularity");
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["users_evaluated"], 2);
  EXPECT_EQ(j["skipped"]["every test item is already in the user's training"], 3);
  EXPECT_EQ(j["candidates"]["min"], 90);
  EXPECT_EQ(j["candidates"]["max"], 99);
  // How it was ranked: the masking rule (no negatives_exclude outside the sampled task) and the
  // tie order's seed.
  EXPECT_EQ(j["masking"].dump(), R"({"removed":["train","val"]})");
  EXPECT_EQ(j["ties"]["seed"], 42);
  EXPECT_EQ(j["ties"]["order"], "seeded per-user pseudo-random (hash of seed, user, item)");
  r.negatives_exclude_parts = {"train", "val"};
  r.masked_parts = {"train"};
  EXPECT_EQ(result_to_json(r, meta)["masking"].dump(),
            R"({"removed":["train"],"negatives_exclude":["train","val"]})");
  EXPECT_EQ(j["metrics"].dump(), R"({"ndcg@5":0.375,"coverage@5":0.1})");
  EXPECT_EQ(j["timings"]["pairs_per_second"], 500.0);
  EXPECT_EQ(j["timings"]["total_seconds"], 3.5);
}

TEST(ResultJson, SignificanceBlockAndNotesWhenGiven) {
  EvalResult r = make_result("model", {0}, {"mrr"}, {1.0});
  r.notes = {"diversity@K omitted"};
  PairedTest t;
  t.n = 4;
  t.mean_diff = 0.25;
  t.t_statistic = std::numeric_limits<double>::infinity();
  t.t_p_value = 0;
  t.wilcoxon_statistic = 0;
  t.wilcoxon_p_value = 0.125;
  const std::vector<std::pair<std::string, PairedTest>> tests{{"mrr", t}};
  const auto j = result_to_json(r, ResultMeta{}, &tests, "popularity");
  EXPECT_EQ(j["notes"][0], "diversity@K omitted");
  EXPECT_EQ(j["significance"].dump(),
            R"({"baseline":"popularity","metrics":{"mrr":{"n":4,"mean_diff":0.25,"t":null,)"
            R"("t_p":0.0,"wilcoxon":0.0,"wilcoxon_p":0.125}}})");
}

TEST(ResultFiles, JsonAndPerUserCsvAreWrittenExactly) {
  test::ScratchDir dir("eval_result_files");
  SplitData split;
  split.user_map = IdMap::from_ids({"u1", "u2", "u3"});
  split.cold_user_ids = {"new,user"};  // needs CSV quoting
  EvalResult r = make_result("m", {1, 3}, {"ndcg@5", "mrr"}, {0.1, 1.0, 1.0 / 3, 0.5});
  r.metrics = {{"mrr", 0.75}};
  write_result_json(dir / "results/m.json", result_to_json(r, ResultMeta{}));
  const auto back = nlohmann::ordered_json::parse(test::read_text(dir / "results/m.json"));
  EXPECT_EQ(back, result_to_json(r, ResultMeta{}));
  write_per_user_csv(dir / "per_user.csv", r, split);
  EXPECT_EQ(test::read_text(dir / "per_user.csv"),
            "user_id,ndcg@5,mrr\n"
            "u2,0.1,1\n"
            "\"new,user\",0.3333333333333333,0.5\n");
}

TEST(ComparePerUser, PairsCommonUsersByMetricName) {
  const EvalResult model =
      make_result("model", {1, 2, 3, 5}, {"ndcg@5", "mrr", "recall@5"},
                  {0.9, 1.0, 0.1, /*2*/ 0.8, 0.5, 0.2, /*3*/ 0.7, 1.0, 0.3, /*5*/ 0.6, 0.2, 0.4});
  const EvalResult baseline = make_result("pop", {2, 3, 4, 5}, {"mrr", "ndcg@5"},
                                          {/*2*/ 0.25, 0.5, /*3*/ 0.5, 0.4, /*4*/ 1, 1,
                                           /*5*/ 0.2, 0.1});
  const auto tests = compare_per_user(model, baseline);
  ASSERT_EQ(tests.size(), 2u);  // recall@5 is not in the baseline
  EXPECT_EQ(tests[0].first, "ndcg@5");
  EXPECT_EQ(tests[0].second.n, 3u);
  // Users 2, 3, 5: ndcg differences 0.3, 0.3, 0.5.
  EXPECT_NEAR(tests[0].second.mean_diff, (0.3 + 0.3 + 0.5) / 3, 1e-12);
  EXPECT_EQ(tests[1].first, "mrr");
  // mrr differences 0.25, 0.5, 0.0 (the zero is dropped by Wilcoxon).
  EXPECT_NEAR(tests[1].second.mean_diff, 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(tests[1].second.wilcoxon_p_value, 0.5);  // 2 positive of 2: 2 × 1/4
}

TEST(ComparePerUser, RefusesDifferentTasksAndDisjointUsers) {
  const EvalResult a = make_result("a", {1}, {"mrr"}, {1});
  EvalResult b = make_result("b", {2}, {"mrr"}, {1});
  EXPECT_THROW(compare_per_user(a, b), Error);
  b.users = {1};
  b.task = "sampled";
  try {
    compare_per_user(a, b);
    FAIL() << "different tasks compared";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("same task and part"), std::string::npos);
  }
}

}  // namespace
}  // namespace pixelrec::eval
