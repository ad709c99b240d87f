// `pixelrec hpo coordinator`: serves the study of the config's hyperparameter_search section to
// worker groups over TCP (docs/hpo.md). Prints "listening on HOST:PORT" on stderr once it listens,
// a summary when the study is finished, and the best value alone on the last stdout line.
#include <iostream>
#include <memory>

#include "app/cli_common.h"
#include "hpo/coordinator_study.h"

namespace pixelrec::app {

void register_hpo_coordinator(CLI::App& hpo) {
  struct Options {
    CommonOptions common;
    bool resume = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = hpo.add_subcommand(
      "coordinator",
      "Serve a distributed study: lease the trials of hyperparameter_search to `pixelrec hpo "
      "worker` groups, requeue trials whose lease expires, prune at ASHA rungs, have the best "
      "trial evaluated on test once, and write the study outputs to "
      "<results_dir>/hpo/<study_name>/. The last line printed is the best value");
  add_common_options(*cmd, options->common);
  cmd->add_flag("--resume", options->resume,
                "Continue an existing study: trials left RUNNING by a coordinator that died become "
                "STALE and run again first");
  cmd->callback([options] {
    hpo::CoordinatorStudyOptions run;
    run.config = load_config_from(options->common).config;
    run.resume = options->resume;
    run.on_listening = [](const std::string& host, uint16_t port) {
      std::cerr << "listening on " << host << ":" << port << std::endl;
    };
    const hpo::CoordinatorStudySummary s = hpo::run_coordinator_study(run);
    const auto count = [&](hpo::TrialState state) {
      const auto it = s.counts.find(state);
      return it == s.counts.end() ? int64_t{0} : it->second;
    };
    int64_t total = 0, rejected = 0;
    for (const auto& [state, n] : s.counts) total += n;
    for (const auto& [code, n] : s.stats.rejected) rejected += n;
    std::cout << "study " << s.study_name << " (" << s.storage_path.string() << "): " << total
              << " trials; COMPLETE " << count(hpo::TrialState::kComplete) << ", PRUNED "
              << count(hpo::TrialState::kPruned) << ", FAILED " << count(hpo::TrialState::kFailed)
              << "\n";
    std::cout << "served " << s.stats.connections << " connection(s), " << s.stats.messages
              << " message(s); " << rejected << " rejected, " << s.stats.expired_leases
              << " lease(s) expired, " << s.stats.late_messages << " late result(s) recorded\n";
    if (!s.requeued.empty()) {
      std::cout << "re-ran " << s.requeued.size() << " trial(s) left running by an earlier run\n";
    }
    if (!s.stats.finished) {
      throw Error("the coordinator stopped before study '" + s.study_name +
                  "' finished; continue it with pixelrec hpo coordinator --resume");
    }
    std::cout << "outputs: " << s.study_dir.string()
              << "/{best_params.json,best_test_metrics.json,trials.csv,history.html}\n";
    if (!s.best) {
      throw Error("no trial completed in study '" + s.study_name + "'; the reasons are in " +
                  (s.study_dir / "trials.csv").string() + " (column message)");
    }
    std::cout << (s.best_config_written
                      ? "best_config.yaml: " + (s.study_dir / "best_config.yaml").string()
                      : "best_config.yaml skipped: " + s.best_config_note)
              << "\n";
    if (s.test_metrics)
      std::cout << "test metrics of the best trial: " << s.test_metrics->dump() << "\n";
    std::string params;
    for (const auto& [name, value] : s.best->params) {
      params += (params.empty() ? "" : " ") + name + "=" + hpo::format_value(value);
    }
    std::cout << "best trial " << s.best->number << ": " << params << "\n";
    std::cout << hpo::format_value(*s.best->value) << std::endl;  // machine-readable last line
    if (!s.test_error.empty()) {
      throw Error("the test evaluation of best trial " + std::to_string(s.best->number) +
                  " failed on its worker: " + s.test_error + " (also in " +
                  (s.study_dir / "best_test_metrics.json").string() +
                  "); the search's other outputs are written");
    }
  });
}

}  // namespace pixelrec::app
