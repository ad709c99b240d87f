// `checkpoints organize`: moves every checkpoint that is not in <dir>/<its run_name>/ there (with
// its sidecar; a name clash is an error, never an overwrite) and rebuilds the browsable view
// <dir>/by_model/<signature>/<run> (relative symlinks) plus <dir>/index.json.
#pragma once

#include <cstddef>
#include <filesystem>
#include <ostream>
#include <string>

#include "checkpoints/sidecar.h"

namespace pixelrec::checkpoints {

inline constexpr std::string_view kIndexFormat = "pixelrec-checkpoint-index";

struct OrganizeOptions {
  bool dry_run = false;  // print the actions, change nothing
  int threads = 1;       // for reading sidecars
};

struct OrganizeResult {
  size_t moved = 0;          // checkpoints moved into their run folder
  size_t left_in_place = 0;  // misplaced files with a problem (no/invalid sidecar, torn)
  size_t links = 0;          // by_model links
};

// "<fusion_type>-d<embedding_dim>-<modalities>", modalities "image+text", "image", "text" or
// "ids" (neither backbone); characters outside [A-Za-z0-9._-] become '_'. E.g.
// "concat-d64-image+text".
std::string model_signature(const ModelSummary& model);

// Prints every action to `out` ("move", "link", "write", "leave") and, unless dry_run, does it.
// All clashes are found before anything moves: on Error nothing has changed.
OrganizeResult organize_checkpoints(const fs::path& checkpoint_dir, const OrganizeOptions& options,
                                    std::ostream& out);

}  // namespace pixelrec::checkpoints
