// `pixelrec cache`: item features into the HDF5 feature store; one process or under mpirun/srun.
#include "app/cli_common.h"
#include "core/logging.h"
#include "distributed/communicator.h"
#include "features/cache.h"

namespace pixelrec::app {

void register_cache(CLI::App& app) {
  struct Options {
    CommonOptions common;
    bool force_recompute = false;
    int64_t max_items = 0;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "cache",
      "Extract item features (image, text, numeric) into the HDF5 feature store at "
      "data.feature_store_path; reuses the store when nothing changed. Runs under mpirun/srun "
      "with one extraction part per rank");
  add_common_options(*cmd, options->common);
  cmd->add_flag(flag_names("--force-recompute"), options->force_recompute,
                "Rebuild the store even when its fingerprint matches");
  cmd->add_option(flag_names("--max-items"), options->max_items,
                  "Only the first N items of the item map (quick tries; 0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([options] {
    const dist::LaunchEnv env = dist::detect_launch_env(dist::process_environment());
    auto comm = dist::make_communicator(env);
    if (comm->size() > 1) init_logging("info", comm->rank(), comm->size());
    const LoadedConfig loaded = load_config_from(options->common);
    if (comm->rank() != 0) spdlog::set_level(spdlog::level::warn);  // rank 0 reports progress
    features::CacheOptions cache_options;
    cache_options.force_recompute = options->force_recompute;
    if (options->max_items > 0) cache_options.max_items = options->max_items;
    const features::CacheSummary s = features::run_cache(loaded.config, *comm, cache_options);
    if (comm->is_root() && !s.up_to_date) {
      std::string present;
      for (const auto& [modality, count] : s.present)
        present += " " + modality + "=" + std::to_string(count);
      spdlog::info(
          "feature store {}: {} items, {} chunks ({} resumed), present:{}, {:.1f}s on {} "
          "rank(s)",
          s.store_path.string(), s.items, s.chunks_total, s.chunks_resumed, present, s.seconds,
          comm->size());
    }
  });
}

}  // namespace pixelrec::app
