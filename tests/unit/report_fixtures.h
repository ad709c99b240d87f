// Fixture folders for the report tests: a run folder (config.yaml, metrics.jsonl, eval/*.json
// with significance and cold-item results) and a study folder (trials.csv, best_params.json).
#pragma once

#include <filesystem>
#include <string>

#include "support/test_support.h"

namespace pixelrec::report::fixtures {

inline void write_config(const std::filesystem::path& dir) {
  test::write_text(dir / "config.yaml",
                   "# Resolved PixelRec-MM configuration (every key, defaults included)\n"
                   "model:\n  vision_model: builtin\n  fusion_type: concat\n  embedding_dim: 64\n"
                   "  fusion_hidden_dims: [256, 128]\n"
                   "training:\n  epochs: 3\n  learning_rate: 0.005\n"
                   "  early_stopping_metric: val_ndcg@10\n  early_stopping_direction: auto\n"
                   "data:\n  splitting:\n    strategy: leave_one_out\n"
                   "evaluation:\n  k_values: [5, 10]\n");
}

inline void write_metrics(const std::filesystem::path& dir) {
  test::write_text(dir / "metrics.jsonl",
                   "{\"epoch\":0,\"train_loss\":1.0602,\"val_loss\":0.561,\"val_ndcg@10\":0.3343,"
                   "\"val_recall@10\":0.5185,\"lr\":0.005,\"epoch_seconds\":5.25}\n"
                   "{\"epoch\":1,\"train_loss\":0.8622,\"val_loss\":0.4832,\"val_ndcg@10\":0.4127,"
                   "\"val_recall@10\":0.6241,\"lr\":0.005,\"epoch_seconds\":7.75}\n"
                   "{\"epoch\":2,\"train_loss\":0.7729,\"val_loss\":0.4555,\"val_ndcg@10\":0.4101,"
                   "\"val_recall@10\":0.6716,\"lr\":0.0025,\"epoch_seconds\":10.5}\n");
}

// One result file; `metrics` is the JSON body of "metrics", `extra` more top-level members.
inline void write_result(const std::filesystem::path& dir, const std::string& recommender,
                         const std::string& task, const std::string& metrics,
                         const std::string& extra = "") {
  test::write_text(dir / "eval" / (recommender + "_" + task + ".json"),
                   "{\"recommender\": \"" + recommender + "\", \"task\": \"" + task +
                       "\", \"part\": \"test\", \"split\": \"splits/loo\", \"seed\": 42,"
                       " \"config_fingerprint\": \"00aa11bb22cc33dd\", \"model\": \"\","
                       " \"users_evaluated\": 2993, \"skipped\": {}, \"metrics\": {" +
                       metrics + "}" + extra + "}\n");
}

inline void write_run(const std::filesystem::path& dir) {
  write_config(dir);
  write_metrics(dir);
  write_result(dir, "multimodal", "full",
               "\"recall@5\": 0.14567323755429334, \"recall@10\": 0.18977614433678583, "
               "\"ndcg@5\": 0.11078126206452238, \"ndcg@10\": 0.1250706873550421, "
               "\"hit_rate@5\": 0.14567323755429334, \"hit_rate@10\": 0.18977614433678583, "
               "\"mrr\": 0.11482008240444236, \"coverage@10\": 0.2882991556091677, "
               "\"gini@10\": 0.9592480564824155",
               ", \"significance\": {\"baseline\": \"popularity\", \"metrics\": {"
               "\"ndcg@10\": {\"n\": 2993, \"mean_diff\": 0.06277974790651188, \"t\": "
               "15.396789790154516, \"t_p\": 1.5476051287611116e-51, \"wilcoxon\": 29354.5, "
               "\"wilcoxon_p\": 2.412169108445152e-49}, \"mrr\": {\"n\": 2993, \"mean_diff\": "
               "0.001, \"t\": null, \"t_p\": 0.3125, \"wilcoxon\": 10.0, \"wilcoxon_p\": 0.5}}}");
  write_result(dir, "popularity", "full",
               "\"recall@5\": 0.06648847310390913, \"recall@10\": 0.13966, "
               "\"ndcg@5\": 0.03738157662238477, \"ndcg@10\": 0.06229093944853021, "
               "\"hit_rate@5\": 0.06648847310390913, \"hit_rate@10\": 0.13966, "
               "\"mrr\": 0.04480888617192422, \"coverage@10\": 0.004, "
               "\"gini@10\": 0.9987");
  write_result(dir, "multimodal", "cold_item",
               "\"recall@5\": 0.18964637087599082, \"recall@10\": 0.3046993566713585, "
               "\"ndcg@5\": 0.16392685985229416, \"ndcg@10\": 0.20402872557227347, "
               "\"hit_rate@5\": 0.3712574850299401, \"hit_rate@10\": 0.5129740518962076, "
               "\"mrr\": 0.2231");
}

inline void write_study(const std::filesystem::path& dir) {
  test::write_text(dir / "trials.csv",
                   "number,state,value,params_training.learning_rate,params_optimizer,"
                   "duration_s,attempt,message\n"
                   "0,COMPLETE,0.41,0.001,adam,1.500,1,\n"
                   "1,COMPLETE,0.45,0.01,sgd,1.250,1,\n"
                   "2,PRUNED,,0.0001,adam,0.500,1,pruned at step 1\n"
                   "3,FAILED,,0.05,sgd,0.100,1,\"exit status 1: boom, \"\"quoted\"\"\"\n"
                   "4,COMPLETE,0.43,0.003,adam,1.000,1,\n");
  test::write_text(dir / "best_params.json",
                   "{\"study\": \"s1\", \"direction\": \"maximize\", \"trial\": 1, \"value\": 0.45,"
                   " \"params\": {\"training.learning_rate\": 0.01, \"optimizer\": \"sgd\"}}\n");
  test::write_text(dir / "history.html", "<html></html>\n");
}

}  // namespace pixelrec::report::fixtures
