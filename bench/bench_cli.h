// What the torch-free benchmarks share: positional arguments and a temporary folder removed
// however the benchmark ends. (bench_support.h holds the LibTorch benchmarks' helpers.)
#pragma once

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "core/errors.h"

namespace pixelrec::bench {

// argv text as a positive int; UsageError naming `what` and the usage line otherwise.
inline int parse_positive(const char* text, const char* what, const std::string& usage) {
  try {
    size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == std::string(text).size() && value > 0) return value;
  } catch (const std::exception&) {
  }
  throw UsageError(std::string(what) + " must be a positive integer (got '" + text +
                   "'); usage: " + usage);
}

// <temp>/<prefix>-<pid>, emptied on creation and removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix)
      : path_(std::filesystem::temp_directory_path() /
              (prefix + "-" + std::to_string(static_cast<long>(::getpid())))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A benchmark's main: run(argc, argv), with "error: ..." on stderr and exit status 2 for a
// UsageError, 1 for any other error.
template <class Run>
int run_main(Run&& run, int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace pixelrec::bench
