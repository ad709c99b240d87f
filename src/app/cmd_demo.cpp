// `pixelrec demo [--quick] [--out DIR]`: the whole pipeline on generated data, each step a child
// process of this binary (distributed steps on 2 ranks under mpirun), ending with a comparison
// table of the model against every baseline and an HTML report. `make demo` runs it.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/child_process.h"
#include "app/cli_common.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/strings.h"
#include "report/verdict.h"

namespace pixelrec::app {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kMarker = ".pixelrec-demo";

// The demo's config; @OUT@ is the output folder, @EPOCHS@ and friends the mode's sizes.
constexpr const char* kConfigTemplate =
    R"(# Written by `pixelrec demo`: every path lives under @OUT@.
data:
  item_info_path: @OUT@/raw/item_info.csv
  interactions_path: @OUT@/raw/interactions.csv
  image_folder: @OUT@/raw/images
  processed_item_info_path: @OUT@/processed/item_info.csv
  processed_interactions_path: @OUT@/processed/interactions.csv
  processed_image_destination_folder: @OUT@/processed/images
  scaler_path: @OUT@/processed/numerical_scaler.json
  split_data_path: @OUT@/splits/leave_one_out
  cache_config:
    cache_directory: @OUT@/cache
  splitting:
    strategy: leave_one_out
    min_interactions_per_user: 5
    min_interactions_per_item: 3
checkpoint_dir: @OUT@/checkpoints
results_dir: @OUT@/results
model:
  embedding_dim: 64
  fusion_hidden_dims: [256, 128]
training:
  epochs: @EPOCHS@
  batch_size: 512
  learning_rate: 0.005
  patience: 3
  early_stopping_metric: val_ndcg@10
evaluation:
  k_values: [5, 10, 20]
  num_negatives: 100
hyperparameter_search:
  study_name: demo_search
  n_trials: @TRIALS@
  sampler: tpe
  pruner: asha
  direction: maximize
  optimize_metric: val_ndcg@10
  parallel: 2
  asha: {min_resource: 1, max_resource: @TRIAL_EPOCHS@, reduction_factor: 2}
  search_space:
    training.learning_rate: {type: float, low: 0.001, high: 0.02, log: true}
    model.dropout_rate: {type: float, low: 0.0, high: 0.3}
    model.embedding_dim: {type: categorical, choices: [32, 64]}
)";

struct DemoMode {
  std::string preset;
  int epochs, trials, trial_epochs;
};

std::string demo_config(const fs::path& out, const DemoMode& mode) {
  std::string text = kConfigTemplate;
  const auto put = [&text](const std::string& key, const std::string& value) {
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at))
      text.replace(at, key.size(), value);
  };
  put("@OUT@", out.string());
  put("@EPOCHS@", std::to_string(mode.epochs));
  put("@TRIALS@", std::to_string(mode.trials));
  put("@TRIAL_EPOCHS@", std::to_string(mode.trial_epochs));
  return text;
}

// The output folder must be new, empty, or an earlier demo's (which is replaced): never a folder
// of the user's that happens to share the name.
void prepare_output(const fs::path& out) {
  if (fs::exists(out) && !fs::is_empty(out)) {
    if (!fs::exists(out / kMarker))
      throw UsageError("--out " + out.string() +
                       " exists and was not written by `pixelrec demo`; choose a new or empty "
                       "folder");
    fs::remove_all(out);
  }
  ensure_directory(out);
  write_file_atomic(out / kMarker, "written by pixelrec demo; safe to delete\n");
}

class DemoRunner {
 public:
  DemoRunner(fs::path out, fs::path config, int ranks)
      : out_(std::move(out)), config_(std::move(config)), ranks_(ranks), self_(self_executable()) {}

  void step(const std::string& title) {
    ++step_;
    std::printf("\n==== %d. %s ====\n", step_, title.c_str());
    std::fflush(stdout);
  }

  // `pixelrec ARGS -c CONFIG` on `ranks` processes; a failing step ends the demo.
  void run(std::vector<std::string> args, int ranks = 1) {
    std::vector<std::string> argv = launcher_prefix(ranks);
    argv.push_back(self_.string());
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-c", config_.string()});
    const auto start = Clock::now();
    const int status = run_child(argv);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (status != 0)
      throw Error("demo step failed (exit status " + std::to_string(status) +
                  "): " + quoted_command(argv));
    std::printf("  (%.1f s)\n", seconds);
    std::fflush(stdout);
  }

  int ranks() const { return ranks_; }
  const fs::path& out() const { return out_; }

 private:
  fs::path out_, config_;
  int ranks_;
  fs::path self_;
  int step_ = 0;
};

std::optional<nlohmann::json> read_json(const fs::path& path) {
  if (!fs::exists(path)) return std::nullopt;
  return nlohmann::json::parse(read_file(path));
}

// One row per recommender with a result file for `task` in `eval_dir`.
void print_table(const std::string& title, const fs::path& eval_dir, const std::string& task,
                 const std::vector<std::string>& recommenders) {
  const std::vector<std::string> columns = {"ndcg@10", "recall@10",   "hit_rate@10",
                                            "mrr",     "coverage@10", "novelty@10"};
  std::printf("\n%s\n%-12s", title.c_str(), "recommender");
  for (const auto& c : columns) std::printf(" %12s", c.c_str());
  std::printf(" %14s\n", "p (t-test)");
  for (const auto& name : recommenders) {
    const auto result = read_json(eval_dir / (name + "_" + task + ".json"));
    if (!result) continue;
    std::printf("%-12s", name.c_str());
    for (const auto& c : columns) {
      const auto& m = (*result)["metrics"];
      if (m.contains(c) && m[c].is_number())
        std::printf(" %12.4f", m[c].get<double>());
      else
        std::printf(" %12s", "-");
    }
    const auto& sig =
        result->value("/significance/metrics/ndcg@10/t_p"_json_pointer, nlohmann::json());
    if (sig.is_number())
      std::printf(" %14.3g", sig.get<double>());
    else
      std::printf(" %14s", "");
    std::printf("\n");
  }
  std::printf("(p: paired t-test of per-user ndcg@10 against popularity)\n");
}

// One sentence: which recommender won full-catalogue ranking, by how much over the runner-up
// side (the model against the best baseline), with its paired test; the report's summary says
// the same.
std::string who_won(const fs::path& eval_dir, const std::vector<std::string>& recommenders) {
  std::vector<report::EvalResultFile> files;
  for (const auto& name : recommenders) {
    const fs::path path = eval_dir / (name + "_full.json");
    if (fs::exists(path)) files.push_back(report::read_eval_result(path));
  }
  report::Results group;
  for (const auto& f : files) group.push_back(&f);
  return report::verdict_sentence(report::verdict_for("full", group), files.size() - 1);
}

void run_demo(bool quick, const fs::path& out_arg, int ranks) {
  const auto start = Clock::now();
  const fs::path out = fs::absolute(out_arg).lexically_normal();
  const DemoMode mode = quick ? DemoMode{"tiny", 3, 3, 2} : DemoMode{"small", 10, 6, 4};
  prepare_output(out);
  const fs::path config = out / "demo.yaml";
  write_file_atomic(config, demo_config(out, mode));
  std::printf("pixelrec demo%s: outputs under %s, config %s, %d rank(s) for distributed steps\n",
              quick ? " --quick" : "", out.c_str(), config.c_str(), ranks);

  DemoRunner demo(out, config, ranks);
  const std::string warn = "--log-level=warn";
  demo.step("synth: the " + mode.preset +
            " synthetic PixelRec dataset (planted topics, 1% corrupted records)");
  demo.run({"synth", "--preset", mode.preset, "--out", (out / "raw").string(), "--seed", "42",
            "--corrupt-frac", "0.01", warn});
  demo.step("preprocess: validate, clean, filter (rejects counted in preprocess_report.json)");
  demo.run({"preprocess", warn});
  demo.step("split: leave_one_out, and an item split for cold-start items");
  const std::vector<std::string> cold = {
      "--set", "data.splitting.strategy=item", "--set",
      "data.split_data_path=" + (out / "splits/cold_item").string(), "--set",
      "data.cache_config.cache_directory=" + (out / "cache_cold_item").string(),
      // Cold items are compared on counters of the training split: the catalogue's lifetime
      // counters would hand the model their future popularity.
      "--set", "data.numeric_source=train_interactions"};
  demo.run({"split", warn});
  auto with_cold = [&cold](std::vector<std::string> args) {
    args.insert(args.end(), cold.begin(), cold.end());
    return args;
  };
  demo.run(with_cold({"split", warn}));
  demo.step("cache: image, text and numeric features into the HDF5 feature store");
  demo.run({"cache", warn}, ranks);
  demo.run(with_cold({"cache", warn}), ranks);
  demo.step("train: the multimodal model on " + std::to_string(ranks) +
            " rank(s) (early stop on val_ndcg@10), and a second one on the item split");
  demo.run({"train", "--run-name", "demo", "--no-progress", "--log-level=info"}, ranks);
  demo.run(with_cold({"train", "--run-name", "demo-cold", "--no-progress", warn}), ranks);
  const std::string all = "multimodal,popularity,random,itemknn,userknn,contentknn,ease,ials";
  demo.step("evaluate: full-catalogue and sampled ranking, the model against every baseline");
  demo.run({"evaluate", "--run-name", "demo", "--task", "full", "--recommender", all, "--baseline",
            "popularity", warn},
           ranks);
  demo.run({"evaluate", "--run-name", "demo", "--task", "sampled", "--recommender", all,
            "--baseline", "popularity", warn},
           ranks);
  demo.run(with_cold({"evaluate", "--run-name", "demo-cold", "--task", "cold_item", "--recommender",
                      "multimodal,popularity,random,contentknn", "--baseline", "popularity", warn}),
           ranks);
  demo.step("search: " + std::to_string(mode.trials) +
            " TPE trials with ASHA pruning, 2 local worker groups");
  demo.run({"hpo", warn});
  demo.step("recommend: top-5 for 3 sampled users");
  demo.run({"recommend", "--run-name", "demo", "--sample-users", "3", "--top-k", "5", "--output",
            (out / "results/demo/recommendations.csv").string(), warn});
  std::printf("%s", read_file(out / "results/demo/recommendations.csv").c_str());
  demo.step("report: one self-contained HTML file");
  const fs::path report = out / "report.html";
  demo.run({"report", (out / "results/demo").string(), (out / "results/demo-cold").string(),
            (out / "results/hpo/demo_search").string(), "--output", report.string(), warn});

  const std::vector<std::string> recommenders = {"multimodal", "popularity", "random", "itemknn",
                                                 "userknn",    "contentknn", "ease",   "ials"};
  print_table("Full-catalogue ranking (test users):", out / "results/demo/eval", "full",
              recommenders);
  print_table("Sampled ranking (positives + 100 negatives):", out / "results/demo/eval", "sampled",
              recommenders);
  print_table("Cold items (never seen in training):", out / "results/demo-cold/eval", "cold_item",
              recommenders);
  if (const auto best = read_json(out / "results/hpo/demo_search/best_params.json"))
    std::printf("\nBest search trial: %s\n", best->dump().c_str());
  const double minutes = std::chrono::duration<double>(Clock::now() - start).count() / 60;
  std::printf("\nDemo done in %.1f min.\n%s Report: %s\n", minutes,
              who_won(out / "results/demo/eval", recommenders).c_str(), report.c_str());
}

}  // namespace

void register_demo(CLI::App& app) {
  struct Options {
    bool quick = false;
    std::string out = "demo";
    int ranks = 2;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "The whole pipeline on generated data: synth, preprocess, split, cache, train (2 ranks), "
      "evaluate against every baseline, a short search, recommend, and an HTML report");
  cmd->add_flag("--quick", options->quick,
                "Tiny dataset, 3 epochs, 3 search trials (about 2 minutes on 2 cores)");
  cmd->add_option("--out", options->out,
                  "Output folder (new, empty, or an earlier demo's, which is replaced)");
  cmd->add_option("--ranks", options->ranks,
                  "Processes for the distributed steps (cache, train, evaluate); needs mpirun "
                  "when > 1")
      ->check(CLI::Range(1, 64));
  cmd->callback([options] {
    int ranks = options->ranks;
    if (ranks > 1 && !find_mpirun()) {
      spdlog::warn("mpirun not found: the demo runs every step as one process");
      ranks = 1;
    }
    run_demo(options->quick, options->out, ranks);
  });
}

}  // namespace pixelrec::app
