// Small string utilities: trimming, splitting, case, edit distance for "did you mean" hints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pixelrec {

std::string_view trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string to_lower_ascii(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

// Levenshtein distance (insert, delete, substitute all cost 1).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, or nullopt when nothing is reasonably close.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// Strict number parsing: the whole string must be consumed; surrounding spaces are allowed.
std::optional<int64_t> parse_int(std::string_view s);
std::optional<double> parse_double(std::string_view s);

// Formats a byte count or a rate for humans: "1.5 MB", "12.3 k/s".
std::string human_bytes(double bytes);
std::string human_count(double count);

}  // namespace pixelrec
