// `checkpoints list`: the catalogue as a table for people or JSON for scripts, one row per
// checkpoint (problems included, with their status) and totals.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "checkpoints/catalogue.h"

namespace pixelrec::checkpoints {

enum class ListFormat { kTable, kJson };

// "table" | "json"; throws UsageError naming both otherwise.
ListFormat parse_list_format(std::string_view name);

// Prints the entries of `run` (all runs when empty; an unknown run is an Error listing the known
// ones) and the totals: files, bytes, problems, misplaced.
void print_listing(const Catalogue& catalogue, const std::string& run, ListFormat format,
                   std::ostream& out);

}  // namespace pixelrec::checkpoints
