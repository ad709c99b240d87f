// A small generated dataset taken through synth → preprocess → split, for integration tests of
// later steps. Paths live in one scratch directory; config.yaml there points at all of them.
#pragma once

#include <string>

#include "support/test_support.h"

namespace pixelrec::test {

struct Pipeline {
  fs::path root;
  fs::path config;  // config.yaml with every data path under root
  std::string config_arg() const { return "-c " + shell_quote(config.string()); }
};

// Runs `pixelrec synth --preset tiny` (seed, corrupt-frac 0), preprocess and a leave_one_out split
// under `root`; `extra_yaml` is appended to the generated config. Fails the test on any error.
Pipeline make_tiny_pipeline(const fs::path& root, const std::string& extra_yaml = "", int seed = 5);

// make_tiny_pipeline, then `pixelrec cache` (the feature store training needs).
Pipeline make_cached_tiny_pipeline(const fs::path& root, const std::string& extra_yaml = "");

}  // namespace pixelrec::test
