// `pixelrec synth`: a synthetic PixelRec-format dataset with planted structure (topics that drive
// preferences, images, text and popularity) and optional injected faults recorded in a manifest.
// Everything is a pure function of the seed and the sizes: same inputs, byte-identical outputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/parallel.h"  // parallel_for, used across the generator

namespace pixelrec::synth {

// ---- Parameters -------------------------------------------------------------------------------

struct SynthParams {
  std::string preset = "tiny";
  uint64_t seed = 42;
  int64_t users = 0;
  int64_t items = 0;
  int64_t interactions = 0;
  int image_size = 0;
  int topics = 0;
  double corrupt_frac = 0.0;
  double late_item_fraction = 0.1;
  // Realism knobs (docs/synth.md); the defaults reproduce the original generator byte for byte.
  double content_signal = 1.0;    // share of items whose image/text/tag show their own topic
  double stickiness = 0.0;        // probability the next interaction reuses a recent topic
  double popularity_noise = 0.0;  // sigma of log-normal noise on each item's sampling weight
  double popular_share = 0.0;     // share of interactions drawn by popularity, ignoring topic
  int threads = 1;                // never changes the output, only the speed
};

// The preset names, in documentation order.
const std::vector<std::string>& preset_names();

// The sizes of a preset; throws UsageError naming the allowed presets.
SynthParams preset_params(const std::string& name);

// Throws UsageError (naming the flag and what is allowed) for inconsistent sizes or fractions.
void validate_params(const SynthParams& params);

// ---- The planted world ------------------------------------------------------------------------

// The purposes of the seeded streams: Rng::stream(seed, {purpose, index...}). One stream per item
// or user keeps the output independent of the thread count.
enum StreamPurpose : uint64_t {
  kStreamItemTopics = 1,
  kStreamPopularity,
  kStreamLateItems,
  kStreamItemPlan,
  kStreamUserPlan,
  kStreamUserCounts,
  kStreamUserInteractions,
  kStreamVocabulary,
  kStreamItemText,
  kStreamImage,
  kStreamFaultItems,
  kStreamFaultRows,
  kStreamFaultBytes,
  kStreamContentTopic,
  kStreamPopularityNoise,
  kStreamUserTimes,
};

constexpr int64_t kWindowStart = 1609459200;  // 2021-01-01T00:00:00Z
constexpr int64_t kWindowSeconds = 180 * 86400;
constexpr int kMinUserInteractions = 5;

struct SynthItem {
  std::string id;
  int topic = 0;
  int content_topic = 0;         // the topic its image, text and tag show (== topic at signal 1)
  uint32_t popularity_rank = 1;  // 1 = most popular, over all items; drives the counters
  double weight = 1.0;           // sampling weight: rank^-0.9 times the popularity noise
  int64_t release_time = kWindowStart;
  bool is_late = false;
  bool png = false;  // image format (faulted images are always .jpg)
};

struct SynthUser {
  std::string id;
  int favourite_topic = 0;
  std::vector<double> topic_cdf;  // cumulative topic preference, size T, last entry 1
  int64_t active_start = kWindowStart;
  int64_t active_end = kWindowStart + kWindowSeconds;
};

struct SynthInteraction {
  uint32_t item = 0;
  uint32_t user = 0;
  int64_t timestamp = 0;
};

struct SynthWorld {
  SynthParams params;
  std::vector<SynthItem> items;
  std::vector<SynthUser> users;
  std::vector<SynthInteraction> interactions;  // ordered by (timestamp, user, item)
};

// Topics, popularity, release times, user preferences, per-user counts and interactions.
SynthWorld plan_world(const SynthParams& params);

// Per-user interaction counts: each >= kMinUserInteractions and <= cap, heavy-tailed, summing
// exactly to `total`. Exposed for tests.
std::vector<uint32_t> plan_user_counts(uint64_t seed, size_t users, uint64_t total, uint32_t cap);

// ---- Text and counters ------------------------------------------------------------------------

struct Vocabulary {
  std::vector<std::vector<std::string>> topic_words;  // ~40 pseudo-words per topic
  std::vector<std::string> common_words;              // shared by every topic
  std::vector<std::string> tags;                      // one tag name per topic
};

Vocabulary make_vocabulary(uint64_t seed, int topics);

inline constexpr std::array<const char*, 7> kCounterNames = {
    "view_number", "comment_number",  "thumbup_number", "share_number",
    "coin_number", "favorite_number", "barrage_number"};

struct ItemText {
  std::string title;
  std::string description;
  std::string tag;
  std::array<int64_t, kCounterNames.size()> counters{};
};

// Title, description, tag and counters of item `index`, drawn from its own seeded stream.
void make_item_text(const Vocabulary& vocab, const SynthWorld& world, size_t index, ItemText& out);

// ---- Images -----------------------------------------------------------------------------------

// The item's image (BGR, size x size): topic decides hue, background, shape and texture; the
// item's own stream decides the jitter.
cv::Mat render_item_image(uint64_t seed, int topics, int topic, size_t item_index, int size);

// JPEG (quality 90) or PNG bytes of an image.
std::vector<unsigned char> encode_image(const cv::Mat& image, bool png);

// ---- Faults -----------------------------------------------------------------------------------

enum class FaultKind {
  kImageTruncated,
  kImageUndecodable,
  kImageTooSmall,
  kImageMissing,
  kRowMalformed,
  kRowShort,
  kRowDuplicateItem,
  kRowDuplicateInteraction,
  kBadTimestamp,
  kEmptyId,
  kTextHtml,
  kTextInvalidUtf8,
  kNumericNan,
  kNumericNegative,
  kNumericNonNumeric,
};
constexpr size_t kFaultKindCount = 15;

const char* fault_kind_name(FaultKind kind);
const char* fault_reason(FaultKind kind);  // the reason preprocess must record
bool fault_is_repair(FaultKind kind);      // expect "repair" (else "reject")

// Item-level kinds and interaction-level kinds, in the order faults are dealt out.
const std::vector<FaultKind>& item_fault_kinds();
const std::vector<FaultKind>& interaction_fault_kinds();

struct PlannedFault {
  uint32_t index = 0;  // item index or interaction index
  FaultKind kind = FaultKind::kRowMalformed;
  uint32_t variant = 0;       // picks the field, the bad value or the bytes
  uint32_t insert_after = 0;  // duplicates: the row after which the copy is inserted
};

struct FaultPlan {
  std::vector<PlannedFault> items;         // sorted by index, at most one per item
  std::vector<PlannedFault> interactions;  // sorted by index, at most one per row
};

// Chooses which items and rows get which fault. Empty when corrupt_frac is 0; otherwise every
// kind appears at least once. Interaction faults only hit rows whose item preprocess keeps.
FaultPlan plan_faults(const SynthWorld& world);

// What the manifest says about one injected fault.
struct FaultRecord {
  FaultKind kind = FaultKind::kRowMalformed;
  std::string file;            // relative to OUT
  std::optional<size_t> line;  // physical line where the record starts; none for images
  std::string id;              // item_id, or user_id for interaction rows
  std::string field;           // empty: JSON null
};

// Applies an item_info fault to the item's fields; returns the field it touched ("" for none).
std::string corrupt_item_text(const PlannedFault& fault, ItemText& text,
                              std::array<std::string, kCounterNames.size()>& counter_fields);

// The bytes of a faulted image (empty for image_missing).
std::vector<unsigned char> corrupt_image(const PlannedFault& fault, const SynthWorld& world);

// A bad timestamp value for a bad_timestamp fault.
const char* bad_timestamp_value(uint32_t variant);

// ---- Writing ----------------------------------------------------------------------------------

struct SynthSummary {
  size_t users = 0;
  size_t items = 0;
  size_t interactions = 0;
  size_t png_images = 0;
  size_t item_faults = 0;
  size_t interaction_faults = 0;
  std::vector<FaultRecord> faults;
};

// Writes the images (parallel, progress bar), the two CSVs, ground truth and, last, the manifest.
SynthSummary write_dataset(const SynthWorld& world, const FaultPlan& faults,
                           const std::filesystem::path& out, bool progress);

// plan_world + plan_faults + write_dataset, with a one-paragraph log summary.
SynthSummary generate_dataset(const SynthParams& params, const std::filesystem::path& out,
                              bool progress = true);

}  // namespace pixelrec::synth
