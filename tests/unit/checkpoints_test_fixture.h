// Test fixtures for the checkpoint manager: fake checkpoint bytes plus the JSON sidecar the
// trainer writes beside them, in any folder layout a test needs.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace pixelrec::checkpoints::testing {

namespace fs = std::filesystem;

struct FakeCheckpoint {
  std::string run = "demo";
  std::string kind = "last";  // last | best | epoch
  int epoch = 3;
  size_t bytes = 1000;
  std::string fusion = "concat";
  int dim = 64;
  std::string vision = "builtin";
  std::string language = "builtin";
  double metric = 0.25;  // val_ndcg@10 of this checkpoint
};

// Deterministic bytes covering every value 0..255.
inline std::string fake_bytes(size_t size, unsigned seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i)
    out[i] = static_cast<char>((i * 131 + seed * 7 + i / 256) & 0xff);
  return out;
}

inline nlohmann::json sidecar_json(const std::string& file, const FakeCheckpoint& c) {
  return {{"format", "pixelrec-checkpoint-meta"},
          {"version", 1},
          {"file", file},
          {"bytes", c.bytes},
          {"kind", c.kind},
          {"run_name", c.run},
          {"epoch", c.epoch},
          {"global_step", c.epoch * 60},
          {"finished", false},
          {"saved_at", "2026-11-29T07:00:0" + std::to_string(c.epoch % 10) + "Z"},
          {"config_fingerprint", "d0547011c43bc666"},
          {"feature_fingerprint", "a1b2c3d4e5f60718"},
          {"model",
           {{"fusion_type", c.fusion},
            {"embedding_dim", c.dim},
            {"vision_model", c.vision},
            {"language_model", c.language},
            {"use_contrastive", true},
            {"parameters", 123456}}},
          {"monitored_metric", "val_ndcg@10"},
          {"best_value", 0.5},
          {"best_epoch", 2},
          {"metrics", {{"train_loss", 0.4}, {"val_loss", 0.5}, {"val_ndcg@10", c.metric}}}};
}

// Writes folder/<file> (c.bytes fake bytes) and folder/<stem>.meta.json; returns the .pt path.
inline fs::path write_checkpoint(const fs::path& folder, const std::string& file,
                                 const FakeCheckpoint& c) {
  const fs::path path = folder / file;
  test::write_text(path, fake_bytes(c.bytes, static_cast<unsigned>(c.epoch)));
  const std::string stem = file.substr(0, file.size() - 3);
  test::write_text(folder / (stem + ".meta.json"), sidecar_json(file, c).dump(2));
  return path;
}

// The trainer's layout for one run: best (epoch best_epoch), last (epoch `epochs`), and
// epoch_<EEEE>.pt for every epoch in 1..epochs.
inline void write_run(const fs::path& dir, const std::string& run, int epochs, int best_epoch,
                      size_t bytes = 1000) {
  FakeCheckpoint c;
  c.run = run;
  c.bytes = bytes;
  for (int e = 1; e <= epochs; ++e) {
    c.kind = "epoch";
    c.epoch = e;
    char name[32];
    std::snprintf(name, sizeof(name), "epoch_%04d.pt", e);
    write_checkpoint(dir / run, name, c);
  }
  c.kind = "best";
  c.epoch = best_epoch;
  write_checkpoint(dir / run, "best.pt", c);
  c.kind = "last";
  c.epoch = epochs;
  write_checkpoint(dir / run, "last.pt", c);
}

inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace pixelrec::checkpoints::testing
