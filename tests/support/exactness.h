// Shared by the N-rank == 1-rank tests (which train the default model: BatchNorm, dropout and the
// contrastive loss on): the difference `pixelrec checkpoints inspect A --compare B` reports.
#pragma once

#include <regex>
#include <string>

namespace pixelrec::test {

// The "max abs difference:" of `checkpoints inspect --compare` output; 1e9 when absent.
inline double max_difference(const std::string& output) {
  static const std::regex pattern("max abs difference: +([-0-9.eE+]+)");
  std::smatch m;
  return std::regex_search(output, m, pattern) ? std::stod(m[1].str()) : 1e9;
}

// The "parameters digest" `pixelrec train` logs (equal digests: bitwise-equal models), or "".
inline std::string digest_of(const std::string& output) {
  static const std::regex pattern("parameters digest ([0-9a-f]{16})");
  std::smatch m;
  return std::regex_search(output, m, pattern) ? m[1].str() : "";
}

}  // namespace pixelrec::test
