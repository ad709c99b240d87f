// Error types shared by every subsystem.
// A user mistake (bad file, bad key, bad value) throws Error with a message that names the thing
// and ends with the fix; a broken internal invariant uses PIXELREC_CHECK, which names file:line.
#pragma once

#include <stdexcept>
#include <string>

namespace pixelrec {

// A failure the user can fix: bad input, bad config, missing file. Exit status 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A command line that cannot be parsed or is inconsistent. Exit status 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

// A configuration key with an invalid value, or an unknown key under --strict.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message) {}
};

// A broken internal invariant: a bug in PixelRec-MM, not in the user's input.
class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& message) : std::logic_error(message) {}
};

[[noreturn]] void fail_check(const char* condition, const char* file, int line,
                             const std::string& detail);

}  // namespace pixelrec

#define PIXELREC_CHECK(cond, detail)                                      \
  do {                                                                    \
    if (!(cond)) ::pixelrec::fail_check(#cond, __FILE__, __LINE__, detail); \
  } while (0)
