// Helpers shared by unit and integration tests: scratch directories, running the pixelrec
// binary and capturing its exit status and output, reading files.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace pixelrec::test {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed when the object dies
// (kept when PIXELREC_KEEP_TEST_DIRS is set, for debugging).
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& child) const { return path_ / child; }

 private:
  fs::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing stdout+stderr and the exit status.
CommandResult run_command(const std::string& command_line);

// Runs the pixelrec binary under test with the given (already quoted where needed) arguments.
CommandResult run_pixelrec(const std::string& args);

std::string read_text(const fs::path& path);

// Every regular file below `root`: relative path → bytes (for byte-identical tree comparisons).
std::map<std::string, std::string> read_tree(const fs::path& root);
void write_text(const fs::path& path, const std::string& text);

// Single-quotes a path or argument for the shell.
std::string shell_quote(const std::string& s);

}  // namespace pixelrec::test
