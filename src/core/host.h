// The name of the machine this process runs on, as logs, worker names and locks show it.
#pragma once

#include <string>

namespace pixelrec {

// gethostname(), or "localhost" when the name cannot be read or is empty.
std::string host_name();

}  // namespace pixelrec
