// `pixelrec report` on the results of `pixelrec evaluate` with every baseline: each recommender
// present in the results (EASE^R and iALS included) has its row, with its own numbers, in the
// report's metric table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

TEST(ReportBaselinesCli, EveryEvaluatedBaselineHasItsRowInTheMetricTable) {
  ScratchDir dir("report_baselines");
  const Pipeline p = make_cached_tiny_pipeline(dir.path(),
                                               "evaluation:\n"
                                               "  k_values: [5, 10]\n"
                                               "  ials_factors: 8\n"
                                               "training:\n"
                                               "  num_workers: 1\n");
  const std::vector<std::string> baselines = {"random",     "popularity", "itemknn", "userknn",
                                              "contentknn", "ease",       "ials"};
  std::string list;
  for (const auto& b : baselines) list += (list.empty() ? "" : ",") + b;
  const CommandResult e = run_pixelrec("evaluate --task full --recommender " + list + " " +
                                       p.config_arg() + " --log-level warn");
  ASSERT_EQ(e.exit_code, 0) << e.output;

  const fs::path html_path = dir.path() / "report.html";
  const CommandResult r = run_pixelrec("report " + shell_quote((dir.path() / "results").string()) +
                                       " --output " + shell_quote(html_path.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string html = read_text(html_path);
  for (const auto& name : baselines) {
    const auto result =
        nlohmann::json::parse(read_text(dir.path() / "results/eval" / (name + "_full.json")));
    std::string ndcg = result["metrics"]["ndcg@10"].dump();  // shortest round trip
    if (ndcg.size() > 2 && ndcg.compare(ndcg.size() - 2, 2, ".0") == 0)
      ndcg.resize(ndcg.size() - 2);
    // The row starts with the recommender's name and holds its exact ndcg@10 in a cell title.
    const size_t row = html.find("<tr><th>" + name + "</th>");
    ASSERT_NE(row, std::string::npos) << name;
    const size_t row_end = html.find("</tr>", row);
    EXPECT_NE(html.substr(row, row_end - row).find("title=\"" + ndcg + "\""), std::string::npos)
        << name << " ndcg@10 " << ndcg;
  }
}

}  // namespace
}  // namespace pixelrec::test
