// make_tiny_pipeline with extra `pixelrec synth` arguments (e.g. "--content-signal 0"), for tests
// of the generator's behaviour knobs. Kept apart from pipeline.h so its many users do not rebuild.
#pragma once

#include <string>

#include "support/pipeline.h"

namespace pixelrec::test {

Pipeline make_tiny_pipeline_with(const fs::path& root, const std::string& extra_yaml, int seed,
                                 const std::string& synth_args);

}  // namespace pixelrec::test
