#include "hpo/pruner.h"

#include "core/errors.h"

namespace pixelrec::hpo {

void require_pruner_option(bool ok, std::string_view pruner, const std::string& problem) {
  if (!ok) throw ConfigError(std::string(pruner) + ": " + problem);
}

}  // namespace pixelrec::hpo
