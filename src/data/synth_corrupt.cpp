// Fault injection: which items and interaction rows get which fault, and the faulty bytes
// themselves. Where each fault lands in the files is recorded by the writer.
#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/rng.h"
#include "data/synth.h"

namespace pixelrec::synth {

namespace {

constexpr int kTooSmallImageSize = 24;
constexpr uint32_t kMaxItemInsertDistance = 50;
constexpr uint32_t kMaxRowInsertDistance = 100;

struct KindInfo {
  FaultKind kind;
  const char* name;
  const char* reason;
  bool repair;
};

constexpr KindInfo kKinds[kFaultKindCount] = {
    {FaultKind::kImageTruncated, "image_truncated", "image_truncated", false},
    {FaultKind::kImageUndecodable, "image_undecodable", "image_undecodable", false},
    {FaultKind::kImageTooSmall, "image_too_small", "image_too_small", false},
    {FaultKind::kImageMissing, "image_missing", "image_missing", false},
    {FaultKind::kRowMalformed, "row_malformed", "malformed_row", false},
    {FaultKind::kRowShort, "row_short", "wrong_field_count", false},
    {FaultKind::kRowDuplicateItem, "row_duplicate_item", "duplicate_item_id", false},
    {FaultKind::kRowDuplicateInteraction, "row_duplicate_interaction", "duplicate_interaction",
     false},
    {FaultKind::kBadTimestamp, "bad_timestamp", "bad_timestamp", false},
    {FaultKind::kEmptyId, "empty_id", "empty_id", false},
    {FaultKind::kTextHtml, "text_html", "html_removed", true},
    {FaultKind::kTextInvalidUtf8, "text_invalid_utf8", "invalid_utf8_repaired", true},
    {FaultKind::kNumericNan, "numeric_nan", "numeric_not_finite", true},
    {FaultKind::kNumericNegative, "numeric_negative", "numeric_negative", true},
    {FaultKind::kNumericNonNumeric, "numeric_non_numeric", "numeric_not_a_number", true},
};

const KindInfo& info(FaultKind kind) {
  const KindInfo& k = kKinds[static_cast<size_t>(kind)];
  PIXELREC_CHECK(k.kind == kind, "fault kind table out of order");
  return k;
}

// Item faults that make preprocess drop the item (so its interactions are rejected too).
bool rejects_item(FaultKind kind) {
  return kind != FaultKind::kRowDuplicateItem && !fault_is_repair(kind);
}

// Picks `count` distinct indices from `candidates` (partial Fisher-Yates), in draw order.
std::vector<uint32_t> draw_distinct(std::vector<uint32_t> candidates, size_t count, Rng& rng) {
  count = std::min(count, candidates.size());
  for (size_t i = 0; i < count; ++i)
    std::swap(candidates[i], candidates[i + rng.below(candidates.size() - i)]);
  candidates.resize(count);
  return candidates;
}

size_t fault_count(double frac, size_t population, size_t kinds) {
  const auto wanted = static_cast<size_t>(std::llround(frac * static_cast<double>(population)));
  return std::min(population, std::max(wanted, kinds));
}

// Deals the kinds round-robin over the drawn indices; duplicates get a later insertion row.
std::vector<PlannedFault> deal(const std::vector<uint32_t>& chosen,
                               const std::vector<FaultKind>& kinds, size_t population,
                               uint32_t max_distance, Rng& rng) {
  std::vector<PlannedFault> faults;
  faults.reserve(chosen.size());
  for (size_t k = 0; k < chosen.size(); ++k) {
    PlannedFault f;
    f.index = chosen[k];
    f.kind = kinds[k % kinds.size()];
    f.variant = static_cast<uint32_t>(rng.next() >> 33);
    const uint64_t after = f.index + 1 + rng.below(max_distance);
    f.insert_after = static_cast<uint32_t>(std::min<uint64_t>(after, population - 1));
    faults.push_back(f);
  }
  std::sort(faults.begin(), faults.end(),
            [](const PlannedFault& a, const PlannedFault& b) { return a.index < b.index; });
  return faults;
}

}  // namespace

const char* fault_kind_name(FaultKind kind) { return info(kind).name; }
const char* fault_reason(FaultKind kind) { return info(kind).reason; }
bool fault_is_repair(FaultKind kind) { return info(kind).repair; }

const std::vector<FaultKind>& item_fault_kinds() {
  static const std::vector<FaultKind> kinds = {
      FaultKind::kImageTruncated,   FaultKind::kImageUndecodable, FaultKind::kImageTooSmall,
      FaultKind::kImageMissing,     FaultKind::kRowMalformed,     FaultKind::kRowShort,
      FaultKind::kRowDuplicateItem, FaultKind::kTextHtml,         FaultKind::kTextInvalidUtf8,
      FaultKind::kNumericNan,       FaultKind::kNumericNegative,  FaultKind::kNumericNonNumeric};
  return kinds;
}

const std::vector<FaultKind>& interaction_fault_kinds() {
  static const std::vector<FaultKind> kinds = {FaultKind::kRowMalformed, FaultKind::kRowShort,
                                               FaultKind::kRowDuplicateInteraction,
                                               FaultKind::kBadTimestamp, FaultKind::kEmptyId};
  return kinds;
}

FaultPlan plan_faults(const SynthWorld& world) {
  FaultPlan plan;
  const double frac = world.params.corrupt_frac;
  if (frac <= 0.0) return plan;
  const uint64_t seed = world.params.seed;

  const size_t items = world.items.size();
  std::vector<uint32_t> all_items(items);
  for (uint32_t i = 0; i < items; ++i) all_items[i] = i;
  Rng item_rng = Rng::stream(seed, {kStreamFaultItems});
  const auto& item_kinds = item_fault_kinds();
  const auto chosen_items =
      draw_distinct(std::move(all_items), fault_count(frac, items, item_kinds.size()), item_rng);
  plan.items = deal(chosen_items, item_kinds, items, kMaxItemInsertDistance, item_rng);

  std::vector<char> item_dropped(items, 0);
  for (const auto& f : plan.items)
    if (rejects_item(f.kind)) item_dropped[f.index] = 1;
  std::vector<uint32_t> eligible;
  eligible.reserve(world.interactions.size());
  for (uint32_t r = 0; r < world.interactions.size(); ++r)
    if (!item_dropped[world.interactions[r].item]) eligible.push_back(r);
  Rng row_rng = Rng::stream(seed, {kStreamFaultRows});
  const auto& row_kinds = interaction_fault_kinds();
  const size_t rows = world.interactions.size();
  const size_t wanted = std::min(eligible.size(), fault_count(frac, rows, row_kinds.size()));
  const auto chosen_rows = draw_distinct(std::move(eligible), wanted, row_rng);
  plan.interactions = deal(chosen_rows, row_kinds, rows, kMaxRowInsertDistance, row_rng);
  return plan;
}

std::string corrupt_item_text(const PlannedFault& fault, ItemText& text,
                              std::array<std::string, kCounterNames.size()>& counter_fields) {
  static const char* const kHtml[][2] = {{"<b>", "</b> &amp; <br/>"},
                                         {"<i>", "</i> &lt;3 <p>new</p>"},
                                         {"<span class=\"hl\">", "</span>&nbsp;&quot;hd&quot;"}};
  static const char* const kBadUtf8[] = {"\xC3\x28", "\xFF", "\xE2\x82", "\xC0\xAF"};
  static const char* const kNotFinite[] = {"NaN", "inf", "-inf", "nan"};
  static const char* const kNotNumbers[] = {"12k", "abc", "1.5M", "12 views"};
  const uint32_t v = fault.variant;
  const auto counter = static_cast<size_t>(v % kCounterNames.size());
  const uint32_t pick = v / 8;
  switch (fault.kind) {
    case FaultKind::kTextHtml: {
      std::string& field = v % 2 ? text.description : text.title;
      const auto* html = kHtml[pick % 3];
      field = html[0] + field + html[1];
      return v % 2 ? "description" : "title";
    }
    case FaultKind::kTextInvalidUtf8: {
      std::string& field = v % 2 ? text.description : text.title;
      const size_t space = field.find(' ');
      field.insert(space == std::string::npos ? field.size() : space, kBadUtf8[pick % 4]);
      return v % 2 ? "description" : "title";
    }
    case FaultKind::kNumericNan:
      counter_fields[counter] = kNotFinite[pick % 4];
      return kCounterNames[counter];
    case FaultKind::kNumericNegative:
      counter_fields[counter] = "-" + std::to_string(1 + pick % 500);
      return kCounterNames[counter];
    case FaultKind::kNumericNonNumeric:
      counter_fields[counter] = kNotNumbers[pick % 4];
      return kCounterNames[counter];
    default:
      return "";
  }
}

std::vector<unsigned char> corrupt_image(const PlannedFault& fault, const SynthWorld& world) {
  const SynthParams& p = world.params;
  const int topic = world.items[fault.index].content_topic;
  switch (fault.kind) {
    case FaultKind::kImageTruncated: {
      auto bytes = encode_image(
          render_item_image(p.seed, p.topics, topic, fault.index, p.image_size), false);
      bytes.resize(bytes.size() / 2);
      return bytes;
    }
    case FaultKind::kImageTooSmall:
      return encode_image(
          render_item_image(p.seed, p.topics, topic, fault.index, kTooSmallImageSize), false);
    case FaultKind::kImageUndecodable: {
      Rng rng = Rng::stream(p.seed, {kStreamFaultBytes, fault.index});
      std::vector<unsigned char> bytes(512 + rng.below(2048));
      for (auto& b : bytes) b = static_cast<unsigned char>(rng.next() >> 56);
      // Never start with a JPEG (FF D8) or PNG (89 50) signature by chance.
      if (bytes[0] == 0xFF || bytes[0] == 0x89) bytes[0] = 0x00;
      return bytes;
    }
    case FaultKind::kImageMissing:
      return {};
    default:
      PIXELREC_CHECK(false, "corrupt_image called for a non-image fault");
      return {};
  }
}

const char* bad_timestamp_value(uint32_t variant) {
  static const char* const kValues[] = {"yesterday", "12/31/2020 25:61", ""};
  return kValues[variant % 3];
}

}  // namespace pixelrec::synth
