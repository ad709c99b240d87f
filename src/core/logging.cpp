#include "core/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/errors.h"

namespace pixelrec {

spdlog::level::level_enum parse_log_level(const std::string& level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn" || level == "warning") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "off") return spdlog::level::off;
  throw UsageError("unknown log level '" + level +
                   "' (allowed: trace, debug, info, warn, error, off)");
}

void init_logging(const std::string& level, int rank, int world_size) {
  spdlog::drop("pixelrec");  // re-initialising (e.g. once the rank is known) replaces the logger
  auto logger = spdlog::stderr_color_mt("pixelrec");
  const std::string tag = rank >= 0 && world_size > 1 ? "[rank " + std::to_string(rank) + "/" +
                                                            std::to_string(world_size) + "] "
                                                      : "";
  logger->set_pattern("%^[%H:%M:%S %l]%$ " + tag + "%v");
  logger->set_level(parse_log_level(level));
  spdlog::set_default_logger(logger);
}

void add_log_file(const std::filesystem::path& path) {
  auto logger = spdlog::default_logger();
  auto sink =
      std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string(), /*truncate=*/false);
  sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e %l] %v");
  logger->sinks().push_back(sink);
  logger->flush_on(spdlog::level::info);
}

}  // namespace pixelrec
