// `pixelrec demo --quick` end to end (what `make demo` runs, on the tiny dataset): every step
// succeeds, the comparison table lists the model and every baseline with the numbers of their
// result files, the search finished, and the HTML report exists. Runs MPI jobs, hence here.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "support/test_support.h"

namespace pixelrec::test {
namespace {

TEST(DemoQuick, RunsEveryStepAndPrintsTheResultFilesNumbers) {
  ScratchDir dir("demo_quick");
  const fs::path out = dir.path() / "demo";
  const CommandResult r = run_pixelrec("demo --quick --out " + shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // The table's ndcg@10 of each recommender is its result file's, to 4 decimals.
  for (const char* name :
       {"multimodal", "popularity", "random", "itemknn", "userknn", "contentknn"}) {
    const auto result = nlohmann::json::parse(
        read_text(out / "results/demo/eval" / (std::string(name) + "_full.json")));
    char cell[32];
    std::snprintf(cell, sizeof cell, "%12.4f", result["metrics"]["ndcg@10"].get<double>());
    const std::string row =
        std::string(name) + std::string(12 - std::string(name).size(), ' ') + " " + cell;
    EXPECT_NE(r.output.find(row), std::string::npos) << row << "\n" << r.output;
  }
  const auto cold =
      nlohmann::json::parse(read_text(out / "results/demo-cold/eval/multimodal_cold_item.json"));
  EXPECT_EQ(cold["task"], "cold_item");
  // The search ran its 3 trials and picked a winner; the report embeds the model's numbers.
  const auto best =
      nlohmann::json::parse(read_text(out / "results/hpo/demo_search/best_params.json"));
  EXPECT_TRUE(best["value"].is_number());
  EXPECT_TRUE(fs::exists(out / "results/hpo/demo_search/best_trial_test.json"));
  const std::string report = read_text(out / "report.html");
  EXPECT_GT(report.size(), 100'000u);  // the chart library is inlined
  EXPECT_NE(r.output.find("Demo done in"), std::string::npos);
  // The last line says who won full ranking, by how much, and where the report is.
  std::string winner;
  double best_ndcg = -1;
  for (const char* name :
       {"multimodal", "popularity", "random", "itemknn", "userknn", "contentknn", "ease", "ials"}) {
    const auto result = nlohmann::json::parse(
        read_text(out / "results/demo/eval" / (std::string(name) + "_full.json")));
    const double ndcg = result["metrics"]["ndcg@10"].get<double>();
    if (ndcg > best_ndcg) best_ndcg = ndcg, winner = name;
  }
  std::string last = r.output.substr(0, r.output.find_last_not_of('\n') + 1);
  last = last.substr(last.rfind('\n') + 1);
  EXPECT_EQ(last.rfind(winner + " wins task full: ndcg@10 = ", 0), 0u) << last;
  EXPECT_NE(last.find("x "), std::string::npos) << last;  // the model / best-baseline ratio
  EXPECT_NE(last.find("the best of 7 baselines"), std::string::npos) << last;
  EXPECT_NE(last.find("paired t-test p = "), std::string::npos) << last;
  EXPECT_EQ(last.substr(last.size() - (out / "report.html").string().size() - 8),
            "Report: " + (out / "report.html").string())
      << last;
  // A second demo into the same folder replaces it; a foreign folder is refused.
  write_text(dir.path() / "mine/notes.txt", "keep me");
  const CommandResult refused =
      run_pixelrec("demo --quick --out " + shell_quote((dir.path() / "mine").string()));
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("was not written by `pixelrec demo`"), std::string::npos);
  EXPECT_EQ(read_text(dir.path() / "mine/notes.txt"), "keep me");
}

}  // namespace
}  // namespace pixelrec::test
