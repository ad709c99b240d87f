#include "core/temp_files.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <iterator>

#include "core/host.h"
#include "core/strings.h"

namespace pixelrec {

namespace {

constexpr std::string_view kTempMarker = ".tmp.";

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// A /proc file's text (read_file cannot: /proc files report no size).
std::string read_proc(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// When this process started, from /proc/self/stat (field 22, in clock ticks since boot), as a
// file-time point; nullopt where /proc is unavailable.

std::optional<fs::file_time_type> process_start() {
  const std::string stat = read_proc("/proc/self/stat");
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  const auto fields = split(stat.substr(close + 2), ' ');
  if (fields.size() < 20) return std::nullopt;  // field 22 is the 20th after ") "
  const double start_since_boot = std::stod(fields[19]) / double(::sysconf(_SC_CLK_TCK));
  double uptime = 0;
  try {
    uptime = std::stod(read_proc("/proc/uptime"));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const auto age = std::chrono::duration<double>(uptime - start_since_boot);
  return fs::file_time_type::clock::now() -
         std::chrono::duration_cast<fs::file_time_type::duration>(age);
}

bool writer_is_dead(const TempWriter& writer, const fs::path& file) {
  if (!writer.host.empty() && writer.host != temp_host_name()) return false;  // cannot tell
  if (writer.pid == int64_t(::getpid())) {
    // Our own pid: a temp file from before we started is a dead writer's whose pid we reuse.
    const auto started = process_start();
    std::error_code ec;
    const auto written = fs::last_write_time(file, ec);
    return started && !ec && written < *started - std::chrono::seconds(1);
  }
  if (writer.pid <= 0) return false;
  return ::kill(static_cast<pid_t>(writer.pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

const std::string& temp_host_name() {
  static const std::string name = [] {
    std::string host = host_name();
    for (char& c : host)
      if (c == '.' || c == '/') c = '_';
    return host;
  }();
  return name;
}

std::optional<TempWriter> temp_file_writer(const std::string& file_name) {
  if (file_name.empty() || file_name.front() != '.') return std::nullopt;
  const auto marker = file_name.rfind(kTempMarker);
  if (marker == std::string::npos || marker == 0) return std::nullopt;
  // PID.COUNTER[.HOST]
  const auto fields = split(file_name.substr(marker + kTempMarker.size()), '.');
  if (fields.size() < 2 || fields.size() > 3 || !all_digits(fields[0]) || !all_digits(fields[1]))
    return std::nullopt;
  TempWriter writer;
  writer.pid = std::stoll(fields[0]);
  if (fields.size() == 3) writer.host = fields[2];
  return writer;
}

size_t remove_stale_temp_files(const fs::path& dir) {
  std::error_code ec;
  size_t removed = 0;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const auto writer = temp_file_writer(it->path().filename().string());
    std::error_code type;
    if (!writer || !it->is_regular_file(type) || !writer_is_dead(*writer, it->path())) continue;
    std::error_code removal;
    if (fs::remove(it->path(), removal)) ++removed;
  }
  if (removed > 0)
    spdlog::info("removed {} temp file(s) left in {} by a writer that crashed", removed,
                 dir.string());
  return removed;
}

}  // namespace pixelrec
