#include "features/cache.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/logging.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/temp_files.h"
#include "features/cache_internal.h"

namespace pixelrec::features {

namespace {

namespace fs = std::filesystem;
using namespace cache_detail;

constexpr int kCacheFormatVersion = 1;

struct Modality {
  std::string name;
  std::unique_ptr<FeatureExtractor> extractor;  // null for numeric
  int dim = 0;
  std::string description;
};

// Extracts one chunk with one extractor: thread-safe extractors get batches on `threads` threads;
// the others (TorchScript backbones, which batch and use the cores themselves) get the whole chunk.
PartBlock extract_block(Modality& m, const CacheInputs& in, uint32_t begin, uint32_t count,
                        int batch_size, int threads) {
  PartBlock block;
  block.modality = m.name;
  block.dim = m.dim;
  block.values.assign(static_cast<size_t>(count) * static_cast<size_t>(m.dim), 0.0f);
  block.present.assign(count, 0);
  const bool parallel = m.extractor->thread_safe();
  const uint32_t per_call = parallel ? static_cast<uint32_t>(batch_size) : count;
  const uint32_t batches = (count + per_call - 1) / per_call;
  const int n_threads = parallel ? threads : 1;
  std::vector<std::vector<const ItemContent*>> batch_of_worker(
      static_cast<size_t>(std::max(n_threads, 1)));
  std::atomic<uint64_t> unusable{0};
  std::mutex example_mutex;
  std::vector<std::string> examples;
  parallel_for(batches, n_threads, [&](size_t b, size_t worker) {
    auto& batch = batch_of_worker[worker];
    const uint32_t lo = static_cast<uint32_t>(b) * per_call;
    const uint32_t hi = std::min(count, lo + per_call);
    batch.clear();
    for (uint32_t i = lo; i < hi; ++i) batch.push_back(&in.items[begin + i]);
    ExtractBatchStats stats = m.extractor->extract(
        batch, block.values.data() + static_cast<size_t>(lo) * static_cast<size_t>(m.dim),
        block.present.data() + lo);
    unusable += stats.unusable_inputs;
    if (!stats.unusable_examples.empty()) {
      std::lock_guard lock(example_mutex);
      for (const auto& e : stats.unusable_examples)
        if (examples.size() < 3) examples.push_back(e);
    }
  });
  block.unusable = unusable;
  for (const auto& e : examples) spdlog::warn("{} features: {}", m.name, e);
  return block;
}

PartBlock numeric_block(const NumericScaler& scaler, const CacheInputs& in, uint32_t begin,
                        uint32_t count) {
  PartBlock block;
  block.modality = "numeric";
  block.dim = static_cast<int>(in.numeric_columns.size());
  const size_t cols = in.numeric_columns.size();
  std::vector<double> raw(in.numeric_raw.begin() + static_cast<long>(begin * cols),
                          in.numeric_raw.begin() + static_cast<long>((begin + count) * cols));
  block.values.resize(raw.size());
  scaler.transform(raw, count, block.values.data());
  block.present.assign(in.in_catalogue.begin() + begin, in.in_catalogue.begin() + begin + count);
  for (uint32_t i = 0; i < count; ++i)
    if (!block.present[i])
      std::fill_n(block.values.begin() + static_cast<long>(i * cols), cols, 0.0f);
  return block;
}

// This rank's share of the cores: training.num_workers, or the cores divided among the ranks
// (mpirun puts them on one machine here; with one rank per machine the division is by 1).
int rank_threads(const Config& config, const dist::Communicator& comm) {
  if (config.training.num_workers > 0) return config.training.num_workers;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, comm.size()));
}

// Test hook for crash recovery: SIGKILL this process after writing N parts.
int kill_after_parts() {
  const char* v = std::getenv("PIXELREC_TEST_KILL_AFTER_PARTS");
  return v ? std::atoi(v) : -1;
}

}  // namespace

CacheSummary run_cache(const Config& config, dist::Communicator& comm,
                       const CacheOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  CacheSummary summary;
  summary.store_path = config.feature_store_path();
  const fs::path store = summary.store_path;

  CacheInputs in = load_cache_inputs(config, options.max_items);
  const uint32_t n = static_cast<uint32_t>(in.items.size());
  if (n == 0) throw Error("the item map is empty: nothing to cache (check `pixelrec split`)");
  summary.items = n;

  // Extractors (fitted on training items only) and the numeric scaler.
  const std::vector<ItemContent> train_items = training_items(in);
  std::vector<Modality> modalities;
  const int threads = rank_threads(config, comm);
  for (auto make : {&make_image_extractor, &make_text_extractor}) {
    auto extractor = make(config);
    if (!extractor) continue;
    extractor->set_threads(threads);
    extractor->fit(train_items);
    Modality m;
    m.name = extractor->modality();
    m.dim = extractor->dim();
    m.description = extractor->describe();
    m.extractor = std::move(extractor);
    modalities.push_back(std::move(m));
  }
  NumericScaler scaler(parse_numeric_method(config.data.numerical_normalization_method),
                       in.numeric_columns);
  if (!in.numeric_columns.empty()) {
    std::vector<double> train_values;
    size_t train_rows = 0;
    const size_t cols = in.numeric_columns.size();
    for (uint32_t i = 0; i < n; ++i) {
      if (in.train_interactions[i] == 0 || !in.in_catalogue[i]) continue;
      train_values.insert(train_values.end(), in.numeric_raw.begin() + static_cast<long>(i * cols),
                          in.numeric_raw.begin() + static_cast<long>((i + 1) * cols));
      ++train_rows;
    }
    if (train_rows == 0)
      throw Error("no catalogue item has a training interaction: cannot fit the numeric scaler");
    scaler.fit(train_values, train_rows);
  }
  if (modalities.empty() && in.numeric_columns.empty())
    throw Error(
        "every modality is disabled (model.vision_model and model.language_model are "
        "none and data.numerical_features_cols is empty): nothing to cache");

  Hasher fp;
  fp.add(static_cast<uint64_t>(kCacheFormatVersion)).add(in.inputs_hash);
  for (const auto& m : modalities) fp.add(m.name).add(m.description);
  fp.add(scaler.to_json())
      .add(config.features.dtype)
      .add(static_cast<uint64_t>(config.features.chunk_items));
  summary.fingerprint = fp.hex();

  const auto existing = read_store_info(store);
  if (!options.force_recompute && existing && existing->fingerprint == summary.fingerprint) {
    summary.up_to_date = true;
    if (comm.is_root())
      spdlog::info(
          "feature store '{}' is up to date (fingerprint {}); nothing to do (use "
          "--force-recompute to rebuild it)",
          store.string(), summary.fingerprint);
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return summary;
  }

  // Parts from an interrupted run of the same fingerprint are reused; anything else is cleared.
  const fs::path parts_dir = store.string() + ".parts";
  const fs::path parts_stamp = parts_dir / "fingerprint";
  if (comm.is_root()) {
    remove_stale_temp_files(store.parent_path());  // e.g. the store of a crashed run
    remove_stale_temp_files(parts_dir);
    std::error_code ec;
    const bool same = fs::exists(parts_stamp, ec) && read_file(parts_stamp) == summary.fingerprint;
    if (!same || options.force_recompute) {
      fs::remove_all(parts_dir, ec);
      ensure_directory(parts_dir);
      write_file_atomic(parts_stamp, summary.fingerprint);
    }
    if (!scaler.columns().empty()) scaler.save(config.data.scaler_path);
  }
  comm.barrier();

  const uint32_t chunk = static_cast<uint32_t>(config.features.chunk_items);
  const size_t chunks = (n + chunk - 1) / chunk;
  summary.chunks_total = chunks;
  size_t mine = 0;
  for (size_t c = static_cast<size_t>(comm.rank()); c < chunks;
       c += static_cast<size_t>(comm.size()))
    ++mine;
  ProgressBar progress("cache", mine, options.show_progress && comm.is_root());
  const int kill_after = kill_after_parts();
  int written = 0;
  int64_t resumed = 0;
  for (size_t c = static_cast<size_t>(comm.rank()); c < chunks;
       c += static_cast<size_t>(comm.size())) {
    const fs::path path = part_path(parts_dir, c);
    if (read_part(path, summary.fingerprint)) {
      ++resumed;
      progress.advance();
      continue;
    }
    Part part;
    part.begin = static_cast<uint32_t>(c) * chunk;
    part.count = std::min(chunk, n - part.begin);
    for (auto& m : modalities)
      part.blocks.push_back(
          extract_block(m, in, part.begin, part.count, config.features.batch_size, threads));
    if (!in.numeric_columns.empty())
      part.blocks.push_back(numeric_block(scaler, in, part.begin, part.count));
    write_part(path, summary.fingerprint, part);
    progress.advance();
    if (kill_after >= 0 && ++written >= kill_after) std::raise(SIGKILL);
  }
  progress.finish();
  comm.allreduce_sum(&resumed, 1);
  summary.chunks_resumed = static_cast<size_t>(resumed);
  comm.barrier();

  if (comm.is_root()) {
    StoreHeader header;
    header.fingerprint = summary.fingerprint;
    header.dtype = config.features.dtype;
    header.chunk_items = chunk;
    for (const auto& item : in.items) header.item_ids.push_back(item.id);
    header.tag_ids = in.tag_ids;
    header.tag_vocab = in.tag_vocab;
    header.train_interactions = in.train_interactions;
    for (const auto& m : modalities) header.modalities.push_back({m.name, m.dim, m.description});
    if (!in.numeric_columns.empty()) {
      nlohmann::json numeric = nlohmann::json::parse(scaler.to_json());
      numeric["source"] = in.numeric_source;  // read back by the model (numeric_source_of)
      header.modalities.push_back(
          {"numeric", static_cast<int>(in.numeric_columns.size()), numeric.dump()});
    }
    FeatureStoreWriter writer(store, header);
    for (size_t c = 0; c < chunks; ++c) {
      auto part = read_part(part_path(parts_dir, c), summary.fingerprint);
      if (!part)
        throw Error("extraction part " + part_path(parts_dir, c).string() +
                    " is missing or damaged after extraction; rerun `pixelrec cache`");
      for (const auto& b : part->blocks) {
        writer.write_rows(b.modality, part->begin, part->count, b.values.data(), b.present.data());
        for (uint8_t p : b.present) summary.present[b.modality] += p;
        summary.unusable[b.modality] += b.unusable;
      }
    }
    writer.commit();
    std::error_code ec;
    fs::remove_all(parts_dir, ec);
    write_resolved_config(config, store.parent_path() / "cache_config.yaml");
    nlohmann::json report = {{"store", store.string()},
                             {"fingerprint", summary.fingerprint},
                             {"items", n},
                             {"chunks", chunks},
                             {"chunks_resumed", summary.chunks_resumed},
                             {"world_size", comm.size()},
                             {"present", summary.present},
                             {"unusable_inputs", summary.unusable}};
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report["seconds"] = summary.seconds;
    write_file_atomic(store.parent_path() / "cache_report.json", report.dump(2) + "\n");
    for (const auto& [modality, count] : summary.unusable)
      if (count > 0)
        spdlog::warn(
            "{} input(s) unusable for {} features: those items have presence 0 (see "
            "cache_report.json)",
            count, modality);
  }
  comm.barrier();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace pixelrec::features
