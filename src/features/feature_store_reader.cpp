#include <limits>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "features/feature_store.h"
#include "features/h5_handle.h"

namespace pixelrec::features {

namespace {

// A size attribute within [min, the type's maximum], or Error naming it: a damaged or hostile
// store must not turn -1 into 4294967295 items through a cast.
template <class T>
T sized_attribute(hid_t object, const char* name, int64_t min, const std::string& file) {
  const int64_t value = h5::read_int_attribute(object, name, file);
  const auto max = static_cast<int64_t>(std::numeric_limits<T>::max());
  if (value < min || value > max)
    throw Error("feature store '" + file + "': attribute '" + name +
                "' = " + std::to_string(value) + " is outside [" + std::to_string(min) + ", " +
                std::to_string(max) + "]; the file is damaged: re-run `pixelrec cache` (with " +
                "--force-recompute)");
  return static_cast<T>(value);
}

h5::Handle open_store(const std::filesystem::path& path) {
  h5::quiet_errors();
  const std::string file = path.string();
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw Error("'" + file +
                "' is not an HDF5 file; rebuild it with `pixelrec cache --force-recompute`");
  h5::Handle f(h5::check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                         "opening the feature store", file),
               H5Fclose);
  if (H5Aexists(f, "format") <= 0 ||
      h5::read_string_attribute(f, "format", file) != "pixelrec-feature-store")
    throw Error("'" + file +
                "' is an HDF5 file but not a pixelrec feature store; point "
                "data.feature_store_path elsewhere or rebuild it with `pixelrec cache`");
  return f;
}

template <class T>
std::vector<T> read_rows_1d(hid_t parent, const std::string& name, hid_t mem_type, hsize_t begin,
                            hsize_t count, const std::string& file) {
  std::vector<T> out(count);
  if (count == 0) return out;
  h5::Handle set(h5::check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening " + name, file),
                 H5Dclose);
  h5::Handle fs(H5Dget_space(set), H5Sclose);
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, &begin, nullptr, &count, nullptr);
  h5::Handle ms(H5Screate_simple(1, &count, nullptr), H5Sclose);
  h5::check(H5Dread(set, mem_type, ms, fs, H5P_DEFAULT, out.data()), "reading " + name, file);
  return out;
}

}  // namespace

std::optional<StoreInfo> read_store_info(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  const std::string file = path.string();
  h5::Handle f = open_store(path);
  StoreInfo info;
  info.fingerprint = h5::read_string_attribute(f, "fingerprint", file);
  info.dtype = h5::read_string_attribute(f, "dtype", file);
  info.num_items = sized_attribute<uint32_t>(f, "num_items", 0, file);
  info.chunk_items = sized_attribute<uint32_t>(f, "chunk_items", 1, file);
  const auto extractors = nlohmann::json::parse(h5::read_string_attribute(f, "extractors", file));
  for (const auto& [name, description] : extractors.items()) {
    h5::Handle set(h5::check(H5Dopen2(f, ("features/" + name).c_str(), H5P_DEFAULT),
                             "opening features/" + name, file),
                   H5Dclose);
    ModalitySpec spec;
    spec.name = name;
    spec.dim = sized_attribute<int>(set, "dim", 1, file);
    spec.extractor_json = description.dump();
    info.modalities.push_back(spec);
  }
  info.train_interactions =
      read_rows_1d<int64_t>(f, "train_interactions", H5T_NATIVE_INT64, 0, info.num_items, file);
  return info;
}

const FeatureShard::Block* FeatureShard::modality(const std::string& name) const {
  for (const auto& b : modalities)
    if (b.spec.name == name) return &b;
  return nullptr;
}

namespace {

FeatureShard load_range(const std::filesystem::path& path, const std::optional<StoreInfo>& info,
                        ItemRange range) {
  const std::string file = path.string();
  if (!info) throw Error("feature store '" + file + "' does not exist; run `pixelrec cache` first");
  PIXELREC_CHECK(range.begin <= range.end && range.end <= info->num_items,
                 "item range outside the store");
  h5::Handle f = open_store(path);
  FeatureShard shard;
  shard.range = range;
  shard.total_items = info->num_items;
  shard.fingerprint = info->fingerprint;
  const hsize_t begin = range.begin, count = range.size();
  shard.item_ids = h5::read_strings(f, "item_ids", begin, count, file);
  shard.tag_ids = read_rows_1d<int32_t>(f, "tag_ids", H5T_NATIVE_INT32, begin, count, file);
  h5::Handle vocab(h5::check(H5Dopen2(f, "tag_vocab", H5P_DEFAULT), "opening tag_vocab", file),
                   H5Dclose);
  h5::Handle vocab_space(H5Dget_space(vocab), H5Sclose);
  const hsize_t vocab_size = static_cast<hsize_t>(H5Sget_simple_extent_npoints(vocab_space));
  vocab.reset();
  shard.tag_vocab = h5::read_strings(f, "tag_vocab", 0, vocab_size, file);
  shard.train_interactions.assign(info->train_interactions.begin() + range.begin,
                                  info->train_interactions.begin() + range.end);
  for (const auto& spec : info->modalities) {
    FeatureShard::Block block;
    block.spec = spec;
    block.values.resize(static_cast<size_t>(count) * static_cast<size_t>(spec.dim));
    if (count > 0) {
      h5::Handle set(h5::check(H5Dopen2(f, ("features/" + spec.name).c_str(), H5P_DEFAULT),
                               "opening features/" + spec.name, file),
                     H5Dclose);
      const hsize_t start[2] = {begin, 0};
      const hsize_t extent[2] = {count, static_cast<hsize_t>(spec.dim)};
      h5::Handle fs(H5Dget_space(set), H5Sclose);
      H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, extent, nullptr);
      h5::Handle ms(H5Screate_simple(2, extent, nullptr), H5Sclose);
      h5::check(H5Dread(set, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, block.values.data()),
                "reading features/" + spec.name, file);
    }
    block.present =
        read_rows_1d<uint8_t>(f, "presence/" + spec.name, H5T_NATIVE_UINT8, begin, count, file);
    shard.modalities.push_back(std::move(block));
  }
  return shard;
}

}  // namespace

FeatureShard load_feature_range(const std::filesystem::path& path, ItemRange range) {
  return load_range(path, read_store_info(path), range);
}

FeatureShard load_feature_shard(const std::filesystem::path& path, int rank, int world) {
  const auto info = read_store_info(path);
  if (!info)
    throw Error("feature store '" + path.string() + "' does not exist; run `pixelrec cache` first");
  const ShardPlan plan = make_shard_plan(info->train_interactions, world);
  return load_range(path, info, plan.shards.at(static_cast<size_t>(rank)));
}

FeatureShard load_feature_shard(const std::filesystem::path& path, int rank, int world,
                                const std::vector<int64_t>& weights) {
  const auto info = read_store_info(path);
  if (!info)
    throw Error("feature store '" + path.string() + "' does not exist; run `pixelrec cache` first");
  if (weights.size() != info->train_interactions.size())
    throw Error("shard weights for " + std::to_string(weights.size()) + " items, but the store " +
                path.string() + " holds " + std::to_string(info->train_interactions.size()) +
                "; the store is from another split: re-run `pixelrec cache`");
  const ShardPlan plan = make_shard_plan(weights, world);
  return load_range(path, info, plan.shards.at(static_cast<size_t>(rank)));
}

}  // namespace pixelrec::features
