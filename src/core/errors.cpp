#include "core/errors.h"

namespace pixelrec {

void fail_check(const char* condition, const char* file, int line, const std::string& detail) {
  throw InternalError(std::string("internal error at ") + file + ":" + std::to_string(line) +
                      ": check '" + condition + "' failed" + (detail.empty() ? "" : ": " + detail) +
                      " (this is a bug in pixelrec; please report it)");
}

}  // namespace pixelrec
