// split_stats.json: sizes, users/items and time range per part, overlaps, cold fractions.
#include <fmt/format.h>

#include <algorithm>

#include "data/split.h"

namespace pixelrec {

namespace {

size_t index(SplitPart part) { return static_cast<size_t>(part); }
uint8_t bit(SplitPart part) { return static_cast<uint8_t>(1u << index(part)); }

// Bit p of entry e: entity e has a row in part p.
std::vector<uint8_t> presence(const std::vector<uint32_t>& key, uint32_t count,
                              const SplitAssignment& a) {
  std::vector<uint8_t> bits(count, 0);
  for (size_t r = 0; r < key.size(); ++r) bits[key[r]] |= bit(a.part[r]);
  return bits;
}

size_t count_with(const std::vector<uint8_t>& bits, uint8_t mask) {
  return static_cast<size_t>(
      std::count_if(bits.begin(), bits.end(), [mask](uint8_t b) { return (b & mask) == mask; }));
}

size_t count_cold(const std::vector<uint8_t>& bits, SplitPart part) {
  return static_cast<size_t>(std::count_if(bits.begin(), bits.end(), [part](uint8_t b) {
    return (b & bit(part)) && !(b & bit(SplitPart::kTrain));
  }));
}

SplitOverlap overlap(const std::vector<uint8_t>& users, const std::vector<uint8_t>& items,
                     SplitPart a, SplitPart b) {
  const auto mask = static_cast<uint8_t>(bit(a) | bit(b));
  return {count_with(users, mask), count_with(items, mask)};
}

SplitColdStats cold_stats(const SplitKeys& keys, const SplitAssignment& a,
                          const std::vector<uint8_t>& users, const std::vector<uint8_t>& items,
                          SplitPart part) {
  SplitColdStats cold;
  size_t rows = 0, cold_user_rows = 0, cold_item_rows = 0;
  for (size_t r = 0; r < keys.rows(); ++r) {
    if (a.part[r] != part) continue;
    ++rows;
    cold_user_rows += !(users[keys.user[r]] & bit(SplitPart::kTrain));
    cold_item_rows += !(items[keys.item[r]] & bit(SplitPart::kTrain));
  }
  if (rows > 0) {
    cold.user_fraction = static_cast<double>(cold_user_rows) / static_cast<double>(rows);
    cold.item_fraction = static_cast<double>(cold_item_rows) / static_cast<double>(rows);
  }
  cold.cold_users = count_cold(users, part);
  cold.cold_items = count_cold(items, part);
  return cold;
}

nlohmann::ordered_json optional_json(const std::optional<int64_t>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

}  // namespace

SplitStats compute_split_stats(const SplitKeys& keys, const SplitAssignment& a) {
  SplitStats stats;
  stats.input_interactions = keys.rows();
  const auto users = presence(keys.user, keys.user_count, a);
  const auto items = presence(keys.item, keys.item_count, a);
  for (size_t r = 0; r < keys.rows(); ++r) {
    SplitPartStats& part = stats.parts[index(a.part[r])];
    ++part.interactions;
    const int64_t t = keys.timestamp[r];
    part.min_timestamp = std::min(part.min_timestamp.value_or(t), t);
    part.max_timestamp = std::max(part.max_timestamp.value_or(t), t);
  }
  for (SplitPart p : kSplitParts) {
    SplitPartStats& part = stats.parts[index(p)];
    part.users = count_with(users, bit(p));
    part.items = count_with(items, bit(p));
    if (keys.rows() > 0)
      part.fraction = static_cast<double>(part.interactions) / static_cast<double>(keys.rows());
  }
  stats.train_val = overlap(users, items, SplitPart::kTrain, SplitPart::kVal);
  stats.train_test = overlap(users, items, SplitPart::kTrain, SplitPart::kTest);
  stats.val_test = overlap(users, items, SplitPart::kVal, SplitPart::kTest);
  stats.cold_val = cold_stats(keys, a, users, items, SplitPart::kVal);
  stats.cold_test = cold_stats(keys, a, users, items, SplitPart::kTest);
  return stats;
}

nlohmann::ordered_json split_stats_to_json(const SplitStats& s) {
  nlohmann::ordered_json parts = nlohmann::ordered_json::object();
  for (SplitPart p : kSplitParts) {
    const SplitPartStats& part = s.parts[index(p)];
    parts[std::string(split_part_name(p))] = {{"interactions", part.interactions},
                                              {"users", part.users},
                                              {"items", part.items},
                                              {"fraction", part.fraction},
                                              {"min_timestamp", optional_json(part.min_timestamp)},
                                              {"max_timestamp", optional_json(part.max_timestamp)}};
  }
  const auto overlap_json = [](const SplitOverlap& o) {
    return nlohmann::ordered_json{{"users", o.users}, {"items", o.items}};
  };
  const auto cold_json = [](const SplitColdStats& c) {
    return nlohmann::ordered_json{{"user_fraction", c.user_fraction},
                                  {"item_fraction", c.item_fraction},
                                  {"cold_users", c.cold_users},
                                  {"cold_items", c.cold_items}};
  };
  nlohmann::ordered_json j = {
      {"strategy", s.strategy},
      {"stratify_by", s.stratify_by.empty() ? nlohmann::ordered_json(nullptr)
                                            : nlohmann::ordered_json(s.stratify_by)},
      {"seed", s.seed},
      {"ratios", {{"train", s.ratios.train}, {"val", s.ratios.val}, {"test", s.ratios.test}}},
      {"sample_n", optional_json(s.sample_n)},
      {"input_interactions", s.input_interactions},
      {"parts", parts},
      {"overlaps",
       {{"train_val", overlap_json(s.train_val)},
        {"train_test", overlap_json(s.train_test)},
        {"val_test", overlap_json(s.val_test)}}},
      {"cold", {{"val", cold_json(s.cold_val)}, {"test", cold_json(s.cold_test)}}},
      {"users_with_too_few_interactions",
       s.users_with_too_few_interactions
           ? nlohmann::ordered_json(*s.users_with_too_few_interactions)
           : nlohmann::ordered_json(nullptr)},
      {"seconds", s.seconds}};
  return j;
}

std::vector<std::string> format_split_table(const SplitStats& s) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("{:<6}{:>13}{:>10}{:>8}{:>8}{:>12}{:>12}", "part", "interactions",
                              "fraction", "users", "items", "cold users", "cold items"));
  for (SplitPart p : kSplitParts) {
    const SplitPartStats& part = s.parts[index(p)];
    const SplitColdStats* cold = p == SplitPart::kVal    ? &s.cold_val
                                 : p == SplitPart::kTest ? &s.cold_test
                                                         : nullptr;
    lines.push_back(fmt::format("{:<6}{:>13}{:>10.3f}{:>8}{:>8}{:>12}{:>12}", split_part_name(p),
                                part.interactions, part.fraction, part.users, part.items,
                                cold ? std::to_string(cold->cold_users) : "-",
                                cold ? std::to_string(cold->cold_items) : "-"));
  }
  return lines;
}

}  // namespace pixelrec
