// `pixelrec hpo run`: black-box hyperparameter search (SPEC §11): a space file, an objective
// command, a SQLite study. Prints a summary and, on the last stdout line, the best value alone.
#include <iostream>
#include <memory>

#include "app/cli_common.h"
#include "hpo/black_box_search.h"

namespace pixelrec::app {

void register_hpo_coordinator(CLI::App& hpo);  // cmd_hpo_coordinator.cpp

namespace {

void register_hpo_run(CLI::App& hpo) {
  struct Options {
    CommonOptions common;
    hpo::BlackBoxOptions run;
    std::string space_file, output_dir, direction;
  };
  auto options = std::make_shared<Options>();
  hpo::BlackBoxOptions& run = options->run;
  CLI::App* cmd = hpo.add_subcommand(
      "run",
      "Black-box search: run --objective-cmd once per trial with the parameters as "
      "PIXELREC_PARAM_<NAME> variables and as JSON on stdin; it may print 'report <step> <value>' "
      "lines (for pruning) and prints the objective value as its last number. The last line "
      "printed here is the best value");
  add_common_options(*cmd, options->common);
  cmd->add_option("--space", options->space_file,
                  "Search space YAML: search_space mapping + direction")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option(flag_names("--objective-cmd"), run.objective_cmd,
                  "Shell command run with sh -c for each trial")
      ->required();
  cmd->add_option(flag_names("--n-trials"), run.n_trials,
                  "Trials in the study when it ends (a resumed study continues up to N)")
      ->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--sampler", run.sampler, "tpe | random")
      ->check(CLI::IsMember({"tpe", "random"}));
  cmd->add_option("--pruner", run.pruner,
                  "asha | median | none (pruning needs 'report <step> <value>' lines)")
      ->check(CLI::IsMember({"asha", "median", "none"}));
  cmd->add_option("--seed", run.seed,
                  "Sampler seed: the same seed and objective give the same "
                  "trials");
  cmd->add_option("--storage", run.storage_url,
                  "sqlite:///FILE (default: sqlite:///<output-dir>/study.db)");
  cmd->add_option(flag_names("--study-name"), run.study_name,
                  "Study name in the storage (default: the space file's name without extension)");
  cmd->add_flag("--resume", run.resume,
                "Continue an existing study: trials left RUNNING by a run that died become STALE "
                "and run again");
  cmd->add_option(flag_names("--output-dir"), options->output_dir,
                  "Where best_params.json, trials.csv, history.html go (default: hpo/<study>)");
  cmd->add_option("--parallel", run.parallel, "Objectives run at once")->check(CLI::PositiveNumber);
  cmd->add_option("--direction", options->direction,
                  "minimize | maximize (default: the space file's direction)")
      ->check(CLI::IsMember({"minimize", "maximize"}));
  CLI::Option* asha_min = cmd->add_option(flag_names("--asha-min-resource"), run.asha.min_resource,
                                          "ASHA: step of the first rung")
                              ->check(CLI::PositiveNumber);
  CLI::Option* asha_max =
      cmd->add_option(flag_names("--asha-max-resource"), run.asha.max_resource,
                      "ASHA: step a full trial reports last (required with --pruner asha)")
          ->default_str("")
          ->check(CLI::PositiveNumber);
  CLI::Option* asha_eta =
      cmd->add_option(flag_names("--asha-reduction-factor"), run.asha.reduction_factor,
                      "ASHA: keep the top 1/F at each rung")
          ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  cmd->add_option(flag_names("--kill-grace"), run.objective.kill_grace_seconds,
                  "Seconds between SIGTERM and SIGKILL when a trial is pruned")
      ->check(CLI::NonNegativeNumber);

  cmd->callback([options, asha_min, asha_max, asha_eta] {
    hpo::BlackBoxOptions run = options->run;
    if (run.pruner != "asha" && asha_min->count() + asha_max->count() + asha_eta->count() > 0) {
      throw UsageError(
          "--asha-min-resource, --asha-max-resource and --asha-reduction-factor "
          "apply only to --pruner asha; add --pruner asha or drop them");
    }
    // Loads the base config now, so a bad --config fails before any trial runs.
    load_config_from(options->common);
    run.space_file = options->space_file;
    run.output_dir = options->output_dir;
    if (!options->direction.empty()) {
      run.direction = hpo::parse_direction(options->direction, "--direction");
    }
    run.config_files = options->common.config_files;
    run.config_overrides = options->common.overrides;
    run.config_strict = options->common.strict;

    const hpo::BlackBoxSummary s = hpo::run_black_box_search(run);
    const auto count = [&](hpo::TrialState state) {
      const auto it = s.counts.find(state);
      return it == s.counts.end() ? int64_t{0} : it->second;
    };
    int64_t total = 0;
    for (const auto& [state, n] : s.counts) total += n;
    std::cout << "study " << s.study_name << " (" << s.storage_path.string() << "): " << total
              << " trials, " << s.trials_run << " run now; COMPLETE "
              << count(hpo::TrialState::kComplete) << ", PRUNED " << count(hpo::TrialState::kPruned)
              << ", FAILED " << count(hpo::TrialState::kFailed) << "\n";
    if (!s.requeued.empty()) {
      std::cout << "re-ran " << s.requeued.size() << " stale trial(s) of the earlier run\n";
    }
    std::cout << "outputs: " << s.output_dir.string()
              << "/{best_params.json,trials.csv,history.html}\n";
    if (!s.best) {
      throw Error("no trial completed in study '" + s.study_name + "'; the reasons are in " +
                  (s.output_dir / "trials.csv").string() + " (column message)");
    }
    std::cout << (s.best_config_written
                      ? "best_config.yaml: " + (s.output_dir / "best_config.yaml").string()
                      : "best_config.yaml skipped: " + s.best_config_note)
              << "\n";
    std::cout << "best trial " << s.best->number << ": " << [&] {
      std::string params;
      for (const auto& [name, value] : s.best->params) {
        params += (params.empty() ? "" : " ") + name + "=" + hpo::format_value(value);
      }
      return params;
    }() << "\n";
    std::cout << hpo::format_value(*s.best->value) << std::endl;  // machine-readable last line
  });
}

}  // namespace

void register_hpo(CLI::App& app) {
  CLI::App* hpo = app.add_subcommand(
      "hpo",
      "Hyperparameter search. Without a subcommand: a local study of the config's "
      "hyperparameter_search section (a coordinator plus --parallel worker groups training the "
      "model, or fitting the baseline named by hyperparameter_search.target). pixelrec hpo run: "
      "black-box search over any command; pixelrec hpo coordinator: "
      "serve a study to worker groups; pixelrec hpo worker: one worker group (under "
      "mpirun/srun for k ranks)");
  hpo->require_subcommand(0, 1);
  register_hpo_run(*hpo);
  register_hpo_coordinator(*hpo);
  // Listed in --help; `pixelrec hpo worker` itself is run by pixelrec-torch (see main.cpp).
  hpo->add_subcommand("worker",
                      "One worker group of a study: leases trials from `pixelrec hpo "
                      "coordinator`, trains them on every rank (pixelrec hpo worker --help)");
  add_local_study(*hpo);
}

}  // namespace pixelrec::app
