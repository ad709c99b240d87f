// `pixelrec synth`: write a synthetic PixelRec-format dataset with planted structure and optional
// injected faults (SPEC §1; docs/synth.md).
#include <cmath>
#include <limits>
#include <memory>

#include "app/cli_common.h"
#include "core/config_loader.h"
#include "data/synth.h"

namespace pixelrec::app {

namespace {

constexpr double kFromPreset = std::numeric_limits<double>::quiet_NaN();

struct SynthOptions {
  CommonOptions common;
  std::string preset = "tiny";
  std::string out;
  uint64_t seed = 42;
  double corrupt_frac = 0.0;
  int64_t users = 0;
  int64_t items = 0;
  int64_t interactions = 0;
  int image_size = 0;
  int topics = 0;
  int threads = 0;
  bool no_progress = false;
  // Realism knobs; NaN: the preset's value.
  double content_signal = kFromPreset;
  double stickiness = kFromPreset;
  double popularity_noise = kFromPreset;
  double popular_share = kFromPreset;
};

synth::SynthParams resolve_params(const SynthOptions& o, const Config& config) {
  synth::SynthParams p = synth::preset_params(o.preset);
  p.seed = o.seed;
  p.corrupt_frac = o.corrupt_frac;
  if (o.users) p.users = o.users;
  if (o.items) p.items = o.items;
  if (o.interactions) p.interactions = o.interactions;
  if (o.image_size) p.image_size = o.image_size;
  if (o.topics) p.topics = o.topics;
  const auto knob = [](double flag, double& value) {
    if (!std::isnan(flag)) value = flag;
  };
  knob(o.content_signal, p.content_signal);
  knob(o.stickiness, p.stickiness);
  knob(o.popularity_noise, p.popularity_noise);
  knob(o.popular_share, p.popular_share);
  p.threads = o.threads ? o.threads : config.thread_count();
  return p;
}

}  // namespace

void register_synth(CLI::App& app) {
  auto o = std::make_shared<SynthOptions>();
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Write a synthetic PixelRec-format dataset (interactions.csv, item_info.csv, images/, "
      "ground_truth/, synth_manifest.json) with planted topics, popularity and release times");
  cmd->footer(
      "Presets (users / items / interactions / image px / topics):\n"
      "  tiny         300 / 400 / 6,000 / 72 / 6          (about 2 s)\n"
      "  small        3,000 / 2,500 / 60,000 / 96 / 10\n"
      "  pixelrec50k  50,000 / 82,865 / 989,494 / 96 / 24  (the public PixelRec50K size)\n"
      "  hard         3,000 / 2,500 / 60,000 / 96 / 10     (small's size, realistic behaviour:\n"
      "               content-signal 0.3, stickiness 0.7, popularity-noise 1, popular-share 0.25)\n"
      "The other presets use content-signal 1, stickiness 0, popularity-noise 0, popular-share 0.\n"
      "--users/--items/--interactions/--image-size/--topics override the preset (0 keeps it);\n"
      "the four behaviour flags override it when given.\n"
      "The output is byte-identical for the same seed and sizes, whatever --threads is.");
  add_common_options(*cmd, o->common);
  cmd->add_option("--preset", o->preset,
                  "Dataset size and behaviour: tiny | small | pixelrec50k | hard");
  cmd->add_option("--out", o->out, "Output directory (created; its images/ is replaced)")
      ->required();
  cmd->add_option("--seed", o->seed, "Random seed; a different seed gives different data");
  cmd->add_option(flag_names("--corrupt-frac"), o->corrupt_frac,
                  "Fraction of items and of interaction rows that get one injected fault, in "
                  "[0, 0.5]; every fault kind appears at least once when > 0");
  cmd->add_option("--users", o->users, "Number of users (0: from the preset)");
  cmd->add_option("--items", o->items, "Number of items (0: from the preset)");
  cmd->add_option("--interactions", o->interactions,
                  "Number of interactions, between 5 * users and users * items / 2 (0: preset)");
  cmd->add_option(flag_names("--image-size"), o->image_size,
                  "Image width and height in pixels, at least 16 (0: from the preset)");
  cmd->add_option("--topics", o->topics, "Number of latent topics, 2-64 (0: from the preset)");
  cmd->add_option(flag_names("--content-signal"), o->content_signal,
                  "Share of items, in [0, 1], whose image, text and tag show their own topic (the "
                  "rest show a random topic); 1: content reveals the topic (default: preset)");
  cmd->add_option("--stickiness", o->stickiness,
                  "Probability, in [0, 1], that a user's next interaction stays in one of their "
                  "last 3 topics, so order matters (default: preset)");
  cmd->add_option(flag_names("--popularity-noise"), o->popularity_noise,
                  "Sigma, in [0, 5], of log-normal noise on each item's popularity: interactions "
                  "follow the noisy value, view counters the planted rank (default: preset)");
  cmd->add_option(flag_names("--popular-share"), o->popular_share,
                  "Share of interactions, in [0, 1], drawn by item popularity regardless of the "
                  "user's topics (default: preset)");
  cmd->add_option("--threads", o->threads,
                  "Worker threads (0: training.num_workers from the config, 0 there = every core)");
  cmd->add_flag(flag_names("--no-progress"), o->no_progress, "Do not draw the progress bar");
  cmd->callback([o] {
    const LoadedConfig loaded = load_config_from(o->common);
    const synth::SynthParams params = resolve_params(*o, loaded.config);
    synth::validate_params(params);  // before anything is written
    write_resolved_config(loaded.config, std::filesystem::path(o->out) / "synth_config.yaml");
    synth::generate_dataset(params, o->out, !o->no_progress);
  });
}

}  // namespace pixelrec::app
