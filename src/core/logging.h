// Logging: one spdlog logger to stderr, tagged with the rank when running distributed.
// Call init_logging once in main; elsewhere use the spdlog macros/functions directly.
#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>
#include <string>

namespace pixelrec {

// level: trace|debug|info|warn|error|off. rank < 0 means "not distributed" (no tag).
void init_logging(const std::string& level, int rank = -1, int world_size = 1);

// Also appends every message to `path` (e.g. a run's train.log), flushed at info level.
void add_log_file(const std::filesystem::path& path);

// Parses a level name; throws UsageError naming the allowed values.
spdlog::level::level_enum parse_log_level(const std::string& level);

}  // namespace pixelrec
