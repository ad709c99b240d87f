// Feature-store load rate: load_feature_shard (HDF5 hyperslab reads into memory) for 1 and 2
// ranks, next to a plain fread of the same file into a newly allocated buffer, in the same run
// (page cache warm for both).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "core/rng.h"
#include "features/feature_store.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using namespace pixelrec::features;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void build_store(const fs::path& path, uint32_t n, const std::vector<ModalitySpec>& specs) {
  StoreHeader h;
  h.fingerprint = "bench";
  for (uint32_t i = 0; i < n; ++i) {
    h.item_ids.push_back(std::to_string(i));
    h.tag_ids.push_back(static_cast<int32_t>(i % 30));
    h.train_interactions.push_back(i % 50);
  }
  for (int t = 0; t < 30; ++t) h.tag_vocab.push_back("tag" + std::to_string(t));
  h.modalities = specs;
  FeatureStoreWriter writer(path, h);
  pixelrec::Rng rng(1);
  const uint32_t chunk = 4096;
  for (const auto& s : specs) {
    std::vector<float> values(static_cast<size_t>(chunk) * static_cast<size_t>(s.dim));
    std::vector<uint8_t> present(chunk, 1);
    for (uint32_t b = 0; b < n; b += chunk) {
      const uint32_t count = std::min(chunk, n - b);
      for (auto& v : values) v = static_cast<float>(rng.uniform());
      writer.write_rows(s.name, b, count, values.data(), present.data());
    }
  }
  writer.commit();
}

// Allocating the destination is inside the timed region, as it is for the store loader.
double fread_seconds(const fs::path& path, size_t& bytes) {
  const auto t0 = Clock::now();
  std::vector<char> buf(fs::file_size(path));
  FILE* f = std::fopen(path.c_str(), "rb");
  bytes = std::fread(buf.data(), 1, buf.size(), f);
  std::fclose(f);
  return since(t0);
}

}  // namespace

int main() {
  const fs::path path = fs::temp_directory_path() / "pixelrec_store_bench.h5";
  const uint32_t n = 100000;
  const std::vector<ModalitySpec> specs = {
      {"image", 164, "{}"}, {"text", 256, "{}"}, {"numeric", 7, "{}"}};
  build_store(path, n, specs);
  size_t bytes = 0;
  fread_seconds(path, bytes);  // warm the page cache
  double fread_s = 1e9, load1_s = 1e9, load2_s = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    fread_s = std::min(fread_s, fread_seconds(path, bytes));
    auto t0 = Clock::now();
    auto all = load_feature_shard(path, 0, 1);
    load1_s = std::min(load1_s, since(t0));
    t0 = Clock::now();
    auto half = load_feature_shard(path, 0, 2);
    load2_s = std::min(load2_s, since(t0));
    if (all.item_ids.size() != n || half.item_ids.empty()) return 1;
  }
  const double gb = static_cast<double>(bytes) / 1e9;
  std::printf("store: %u items, %.2f GB file\n", n, gb);
  std::printf("fread baseline        %6.2f GB/s\n", gb / fread_s);
  std::printf("load 1 rank (all)     %6.2f GB/s  ratio vs fread %.2f\n", gb / load1_s,
              fread_s / load1_s);
  std::printf("load rank 0 of 2      %6.3f s (%.0f%% of the 1-rank time; holds half the rows)\n",
              load2_s, 100 * load2_s / load1_s);
  fs::remove(path);
  return 0;
}
