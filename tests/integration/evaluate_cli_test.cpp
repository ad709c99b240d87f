// `pixelrec evaluate` and `pixelrec recommend` end to end on a briefly trained tiny model: result
// files (keys, predictions, per-user values, significance), task/K errors, and recommendation
// lists (seen filtering, fallback for unknown users, CSV/JSON, diversity).
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "data/csv.h"
#include "support/pipeline.h"
#include "support/test_support.h"

namespace pixelrec::test {
namespace {

const char* kYaml =
    "model:\n"
    "  embedding_dim: 16\n"
    "  fusion_hidden_dims: [32, 16]\n"
    "training:\n"
    "  epochs: 2\n"
    "  batch_size: 256\n"
    "  num_workers: 1\n"
    "evaluation:\n"
    "  num_negatives: 30\n"
    "  k_values: [5, 10]\n";

class EvaluateCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>("evaluate_cli");
    pipeline_ = std::make_unique<Pipeline>(make_tiny_pipeline(dir_->path(), kYaml));
    for (const char* step : {"cache", "train --no-progress --run-name m"}) {
      const auto r =
          run_pixelrec(std::string(step) + " " + pipeline_->config_arg() + " --log-level warn");
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
  }
  static void TearDownTestSuite() {
    pipeline_.reset();
    dir_.reset();
  }
  static CommandResult run(const std::string& args) {
    return run_pixelrec(args + " " + pipeline_->config_arg() + " --log-level warn");
  }
  static fs::path path(const std::string& name) { return dir_->path() / name; }
  static std::unique_ptr<ScratchDir> dir_;
  static std::unique_ptr<Pipeline> pipeline_;
};
std::unique_ptr<ScratchDir> EvaluateCli::dir_;
std::unique_ptr<Pipeline> EvaluateCli::pipeline_;

TEST_F(EvaluateCli, ResultJsonHasEveryContractMetricAndPredictionsRecheck) {
  const auto r = run("evaluate --run-name m --task full --output " + path("full.json").string() +
                     " --save-predictions " + path("pred.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The checkpoint's stored config loads silently (its compatibility keys warned at training).
  EXPECT_EQ(r.output.find("accepted for compatibility"), std::string::npos) << r.output;
  const auto j = nlohmann::json::parse(read_text(path("full.json")));
  EXPECT_EQ(j.at("recommender"), "multimodal");
  EXPECT_EQ(j.at("task"), "full");
  EXPECT_EQ(j.at("seed"), 42);
  EXPECT_TRUE(j.contains("config_fingerprint"));
  const auto& m = j.at("metrics");
  for (const char* name : {"precision", "recall", "f1", "hit_rate", "ndcg", "map", "coverage",
                           "novelty", "diversity", "gini", "personalization"})
    for (const char* k : {"@5", "@10"}) EXPECT_TRUE(m.contains(std::string(name) + k)) << name << k;
  EXPECT_TRUE(m.contains("mrr"));
  const size_t users = j.at("users_evaluated").get<size_t>();
  EXPECT_GT(users, 250u);

  // The predictions file: header, 10 ranks per user, and hit_rate@10 recomputed from it.
  const CsvTable pred = read_csv_table(path("pred.csv"));
  ASSERT_EQ(pred.header, (std::vector<std::string>{"user_id", "rank", "item_id", "score"}));
  EXPECT_EQ(pred.rows(), users * 10);
  const CsvTable test = read_csv_table(dir_->path() / "splits" / "loo" / "test.csv");
  std::set<std::pair<std::string, std::string>> relevant;
  for (size_t i = 0; i < test.rows(); ++i)
    relevant.emplace(test.columns[test.require_column("user_id", "test")][i],
                     test.columns[test.require_column("item_id", "test")][i]);
  std::set<std::string> hit_users;
  for (size_t i = 0; i < pred.rows(); ++i)
    if (relevant.count({pred.columns[0][i], pred.columns[2][i]}))
      hit_users.insert(pred.columns[0][i]);
  EXPECT_NEAR(m.at("hit_rate@10").get<double>(), double(hit_users.size()) / double(users), 1e-12);
  EXPECT_TRUE(fs::exists(path("full.per_user.csv")));
}

// (user_id, item_id) pairs of a split part or a predictions file.
std::set<std::pair<std::string, std::string>> user_item_pairs(const fs::path& csv) {
  const CsvTable table = read_csv_table(csv);
  const size_t user = table.require_column("user_id", csv.string());
  const size_t item = table.require_column("item_id", csv.string());
  std::set<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i < table.rows(); ++i)
    pairs.emplace(table.columns[user][i], table.columns[item][i]);
  return pairs;
}

// Leave-one-out gives every user one val and one test item: evaluating test must not let the
// val item compete (it is known, like the training items), so it is never listed.
TEST_F(EvaluateCli, FullTaskOnTestNeverListsAUsersValidationItems) {
  const fs::path split = dir_->path() / "splits" / "loo";
  const auto val = user_item_pairs(split / "val.csv");
  const auto train = user_item_pairs(split / "train.csv");
  ASSERT_GT(val.size(), 250u);
  for (const std::string recommender : {"popularity", "multimodal"}) {
    SCOPED_TRACE(recommender);
    const fs::path predictions = path("masked_" + recommender + ".csv");
    const auto r =
        run("evaluate --run-name m --recommender " + recommender +
            " --task full --k 5,50 --output " + path("masked_" + recommender + ".json").string() +
            " --save-predictions " + predictions.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto listed = user_item_pairs(predictions);
    ASSERT_GT(listed.size(), 250u * 50);
    size_t val_listed = 0, train_listed = 0;
    for (const auto& pair : listed) {
      val_listed += val.count(pair);
      train_listed += train.count(pair);
    }
    EXPECT_EQ(val_listed, 0u) << "validation items listed on test";
    EXPECT_EQ(train_listed, 0u) << "training items listed on test";
    const auto j = nlohmann::json::parse(read_text(path("masked_" + recommender + ".json")));
    EXPECT_EQ(j.at("masking").at("removed"), (nlohmann::json{"train", "val"}));
    EXPECT_EQ(j.at("ties").at("seed"), 42);
  }
}

TEST_F(EvaluateCli, BaselineComparisonAddsPairedTests) {
  const auto r =
      run("evaluate --run-name m --recommender multimodal --baseline popularity "
          "--task retrieval --output " +
          path("sig.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(read_text(path("sig.json")));
  EXPECT_EQ(j.at("task"), "sampled");  // retrieval is the reference's name for sampled
  const auto& sig = j.at("significance");
  EXPECT_EQ(sig.at("baseline"), "popularity");
  const auto& ndcg = sig.at("metrics").at("ndcg@10");
  EXPECT_GT(ndcg.at("n").get<int>(), 250);
  for (const char* key : {"t_p", "wilcoxon_p"}) {
    EXPECT_GE(ndcg.at(key).get<double>(), 0.0);
    EXPECT_LE(ndcg.at(key).get<double>(), 1.0);
  }
  // The printed table lists both recommenders.
  EXPECT_NE(r.output.find("multimodal"), std::string::npos);
  EXPECT_NE(r.output.find("popularity"), std::string::npos);
}

TEST_F(EvaluateCli, TaskAndCutoffMistakesAreUsageErrors) {
  const auto ranking = run("evaluate --recommender popularity --task ranking");
  EXPECT_EQ(ranking.exit_code, 2);
  EXPECT_NE(ranking.output.find("MRR = NDCG = 1"), std::string::npos) << ranking.output;
  const auto k = run("evaluate --recommender popularity --k 50 --num-negatives 10");
  EXPECT_EQ(k.exit_code, 2);
  EXPECT_NE(k.output.find("K=50 exceeds the 11 candidates"), std::string::npos) << k.output;
  const auto model = run("evaluate --recommender multimodal");
  EXPECT_EQ(model.exit_code, 2);
  EXPECT_NE(model.output.find("--run-name"), std::string::npos) << model.output;
  const auto unknown = run("evaluate --recommender popularty");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("popularity"), std::string::npos) << unknown.output;
}

TEST_F(EvaluateCli, RecommendWritesFilteredListsWithFallback) {
  const CsvTable train = read_csv_table(dir_->path() / "splits" / "loo" / "train.csv");
  const std::string user = train.columns[train.require_column("user_id", "train")][0];
  const auto r = run("recommend --run-name m --top-k 7 --users " + user +
                     " no-such-user --output " + path("rec.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(read_text(path("rec.json")));
  ASSERT_EQ(j.at("users").size(), 2u);
  const auto& known = j.at("users")[0];
  EXPECT_EQ(known.at("user_id"), user);
  EXPECT_EQ(known.at("source"), "model");
  ASSERT_EQ(known.at("items").size(), 7u);
  std::set<std::string> seen;
  for (size_t i = 0; i < train.rows(); ++i)
    if (train.columns[train.require_column("user_id", "train")][i] == user)
      seen.insert(train.columns[train.require_column("item_id", "train")][i]);
  double previous = 2.0;
  for (const auto& item : known.at("items")) {
    EXPECT_EQ(seen.count(item.at("item_id").get<std::string>()), 0u);
    EXPECT_FALSE(item.at("title").get<std::string>().empty());
    const double score = item.at("score").get<double>();
    EXPECT_GT(score, 0.0);  // sigmoid scores (model.final_activation)
    EXPECT_LE(score, previous);
    previous = score;
  }
  EXPECT_EQ(j.at("users")[1].at("source"), "popularity_fallback");

  const auto csv =
      run("recommend --run-name m --sample-users 3 --top-k 4 --use-diversity "
          "--output " +
          path("rec.csv").string());
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  const CsvTable table = read_csv_table(path("rec.csv"));
  EXPECT_EQ(table.header,
            (std::vector<std::string>{"user_id", "rank", "item_id", "title", "score", "source"}));
  EXPECT_EQ(table.rows(), 12u);

  const auto none = run("recommend --run-name m");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.output.find("exactly one of"), std::string::npos) << none.output;
}

// Retrieval by a dot checkpoint (one matrix product over the catalogue), re-ranking by the MLP:
// the list is the MLP's order (and scores) of the dot product's top --retrieve items.
TEST_F(EvaluateCli, RecommendRetrievesByDotAndReranksByTheMlp) {
  const auto trained =
      run("train --no-progress --run-name d --set model.scorer=dot --set training.loss=softmax");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const CsvTable train = read_csv_table(dir_->path() / "splits" / "loo" / "train.csv");
  const std::string user = train.columns[train.require_column("user_id", "train")][0];
  const auto items_of = [](const fs::path& file) {
    std::vector<std::pair<std::string, double>> out;
    const auto j = nlohmann::json::parse(read_text(file));  // outlives the loop below
    for (const auto& item : j.at("users")[0].at("items"))
      out.emplace_back(item.at("item_id").get<std::string>(), item.at("score").get<double>());
    return out;
  };
  const std::string dot = " --run-name d --set model.scorer=dot --users " + user;
  ASSERT_EQ(
      run("recommend" + dot + " --top-k 20 --output " + path("dot20.json").string()).exit_code, 0);
  ASSERT_EQ(run("recommend --run-name m --top-k 100000 --users " + user + " --output " +
                path("mlp_all.json").string())
                .exit_code,
            0);
  const fs::path mlp_dir = dir_->path() / "checkpoints" / "m";
  const fs::path mlp = fs::exists(mlp_dir / "best.pt") ? mlp_dir / "best.pt" : mlp_dir / "last.pt";
  const auto r = run("recommend" + dot + " --top-k 5 --retrieve 20 --rerank-checkpoint " +
                     mlp.string() + " --output " + path("reranked.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::set<std::string> retrieved;
  for (const auto& [item, score] : items_of(path("dot20.json"))) retrieved.insert(item);
  ASSERT_EQ(retrieved.size(), 20u) << read_text(path("dot20.json"));
  std::vector<std::pair<std::string, double>> expected;
  for (const auto& entry : items_of(path("mlp_all.json")))
    if (retrieved.count(entry.first) && expected.size() < 5) expected.push_back(entry);
  const auto reranked = items_of(path("reranked.json"));
  ASSERT_EQ(reranked.size(), 5u);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(reranked[k].first, expected[k].first) << k;
    EXPECT_NEAR(reranked[k].second, expected[k].second, 1e-5) << k;
  }
  // A dot checkpoint is no MLP re-ranker.
  const auto wrong = run("recommend" + dot + " --rerank-checkpoint " +
                         (dir_->path() / "checkpoints" / "d" / "last.pt").string());
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.output.find("asks for model.scorer 'mlp'"), std::string::npos) << wrong.output;
}

}  // namespace
}  // namespace pixelrec::test

namespace pixelrec::test {
namespace {

// data.numeric_source: train_interactions caches counters of the training split (the default
// catalogue counters can leak val/test popularity), results say which source fed the model, and
// a store cached from the other source is refused.
TEST_F(EvaluateCli, LeakFreeNumericSourceIsCachedRecordedAndChecked) {
  const std::string leak_free =
      " --set data.numeric_source=train_interactions --set "
      "data.cache_config.cache_directory=" +
      path("cache_leak_free").string();
  ASSERT_EQ(run("cache" + leak_free).exit_code, 0);
  const auto trained = run("train --no-progress --run-name leak_free" + leak_free);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const auto r = run("evaluate --run-name leak_free --task full --output " +
                     path("leak_free.json").string() + leak_free);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(read_text(path("leak_free.json")));
  EXPECT_EQ(j.at("numeric_source").get<std::string>().rfind("train_interactions", 0), 0u) << j;
  ASSERT_EQ(run("evaluate --run-name m --task full --output " + path("catalogue.json").string())
                .exit_code,
            0);
  const auto catalogue = nlohmann::json::parse(read_text(path("catalogue.json")));
  EXPECT_EQ(catalogue.at("numeric_source").get<std::string>().rfind("catalogue", 0), 0u);
  // The leak-free store under the default (catalogue) config: a clear error.
  const auto mismatch =
      run("train --no-progress --run-name mismatch --set data.cache_config.cache_directory=" +
          path("cache_leak_free").string());
  EXPECT_NE(mismatch.exit_code, 0);
  EXPECT_NE(mismatch.output.find("re-run `pixelrec cache`"), std::string::npos) << mismatch.output;
}

}  // namespace
}  // namespace pixelrec::test
