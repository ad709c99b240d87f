#include "data/synth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "core/logging.h"
#include "core/strings.h"

namespace pixelrec::synth {

namespace {

constexpr int kMinImageSize = 16;
constexpr int kMaxImageSize = 2048;
constexpr int64_t kMinUsers = 10;
constexpr int64_t kMinItems = 50;
constexpr int64_t kMaxEntities = 50'000'000;
constexpr int kMaxTopics = 64;
constexpr double kMaxPopularityNoise = 5.0;

std::string format_double(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = {"tiny", "small", "pixelrec50k", "hard"};
  return names;
}

SynthParams preset_params(const std::string& name) {
  SynthParams p;
  p.preset = name;
  if (name == "tiny") {
    p.users = 300, p.items = 400, p.interactions = 6'000, p.image_size = 72, p.topics = 6;
  } else if (name == "small") {
    p.users = 3'000, p.items = 2'500, p.interactions = 60'000, p.image_size = 96, p.topics = 10;
  } else if (name == "pixelrec50k") {
    p.users = 50'000, p.items = 82'865, p.interactions = 989'494, p.image_size = 96, p.topics = 24;
  } else if (name == "hard") {
    // `small`'s sizes with content that mostly hides the topic, sticky sessions and noisy,
    // topic-blind popularity: closer to real logs, where sequence and popularity matter.
    p.users = 3'000, p.items = 2'500, p.interactions = 60'000, p.image_size = 96, p.topics = 10;
    p.content_signal = 0.3, p.stickiness = 0.7, p.popularity_noise = 1.0, p.popular_share = 0.25;
  } else {
    throw UsageError("--preset '" + name + "' is unknown; allowed: " + join(preset_names(), ", ") +
                     " (use --users/--items/--interactions to change sizes)");
  }
  return p;
}

void validate_params(const SynthParams& p) {
  if (!(p.corrupt_frac >= 0.0 && p.corrupt_frac <= 0.5))
    throw UsageError("--corrupt-frac must be in [0, 0.5], got " + format_double(p.corrupt_frac) +
                     " (use e.g. 0.05 for 5% faulty items and rows)");
  if (p.image_size < kMinImageSize || p.image_size > kMaxImageSize)
    throw UsageError("--image-size must be between " + std::to_string(kMinImageSize) + " and " +
                     std::to_string(kMaxImageSize) + " pixels, got " +
                     std::to_string(p.image_size));
  if (p.users < kMinUsers || p.users > kMaxEntities)
    throw UsageError("--users must be between " + std::to_string(kMinUsers) + " and " +
                     std::to_string(kMaxEntities) + ", got " + std::to_string(p.users));
  if (p.topics < 2 || p.topics > kMaxTopics)
    throw UsageError("--topics must be between 2 and " + std::to_string(kMaxTopics) + ", got " +
                     std::to_string(p.topics));
  const int64_t min_items = std::max<int64_t>(kMinItems, 2 * p.topics);
  if (p.items < min_items || p.items > kMaxEntities)
    throw UsageError("--items must be between " + std::to_string(min_items) + " and " +
                     std::to_string(kMaxEntities) + " (at least 2 per topic), got " +
                     std::to_string(p.items));
  const int64_t low = kMinUserInteractions * p.users;
  const int64_t high = p.users * p.items / 2;
  if (p.interactions < low || p.interactions > high)
    throw UsageError("--interactions must be between 5 * users (" + std::to_string(low) +
                     ") and users * items / 2 (" + std::to_string(high) + "), got " +
                     std::to_string(p.interactions) + " (change --interactions or the sizes)");
  const auto check_unit = [](double v, const char* flag, const char* example) {
    if (!(v >= 0.0 && v <= 1.0))
      throw UsageError(std::string(flag) + " must be in [0, 1], got " + format_double(v) + " (" +
                       example + ")");
  };
  check_unit(p.content_signal, "--content-signal",
             "1: images and text always show the item's topic, 0: they show a random topic");
  check_unit(p.stickiness, "--stickiness",
             "0: independent interactions, 0.7: 70% of interactions reuse a recent topic");
  check_unit(p.popular_share, "--popular-share",
             "0: every interaction follows the user's topics, 0.25: a quarter follow popularity");
  if (!(p.popularity_noise >= 0.0 && p.popularity_noise <= kMaxPopularityNoise))
    throw UsageError("--popularity-noise must be in [0, " + format_double(kMaxPopularityNoise) +
                     "], got " + format_double(p.popularity_noise) +
                     " (the sigma of log-normal noise on item popularity; 1 is strong)");
  if (p.threads < 1)
    throw UsageError("--threads must be at least 1, got " + std::to_string(p.threads));
}

SynthSummary generate_dataset(const SynthParams& params, const std::filesystem::path& out,
                              bool progress) {
  validate_params(params);
  const auto start = std::chrono::steady_clock::now();
  const SynthWorld world = plan_world(params);
  const FaultPlan faults = plan_faults(world);
  SynthSummary summary = write_dataset(world, faults, out, progress);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info(
      "synth: wrote preset '{}' (seed {}) to {}: {} users, {} items ({} late, {} PNG), {} "
      "interactions, {} topics, {}px images; {} faults injected ({} item-level, {} "
      "interaction-level, corrupt_frac {}); content_signal {}, stickiness {}, popularity_noise "
      "{}, popular_share {}; {:.1f}s on {} threads",
      params.preset, params.seed, out.string(), summary.users, summary.items,
      std::count_if(world.items.begin(), world.items.end(),
                    [](const SynthItem& i) { return i.is_late; }),
      summary.png_images, summary.interactions, params.topics, params.image_size,
      summary.faults.size(), summary.item_faults, summary.interaction_faults, params.corrupt_frac,
      params.content_signal, params.stickiness, params.popularity_noise, params.popular_share,
      seconds, params.threads);
  return summary;
}

}  // namespace pixelrec::synth
