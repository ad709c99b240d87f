// Generates the configuration reference (docs/configuration.md) from the schema, so the
// documentation lists exactly the keys, defaults and allowed values the code accepts.
#pragma once

#include <string>

namespace pixelrec {

std::string config_reference_markdown();

}  // namespace pixelrec
