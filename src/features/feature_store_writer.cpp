#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "core/temp_files.h"
#include "features/feature_store.h"
#include "features/h5_handle.h"

namespace pixelrec::features {

namespace {

constexpr int kFormatVersion = 1;

h5::Handle create_1d(hid_t parent, const std::string& name, hid_t file_type, hsize_t n,
                     const std::string& file) {
  h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  return h5::Handle(h5::check(H5Dcreate2(parent, name.c_str(), file_type, space, H5P_DEFAULT,
                                         H5P_DEFAULT, H5P_DEFAULT),
                              "creating dataset " + name, file),
                    H5Dclose);
}

}  // namespace

struct FeatureStoreWriter::Impl {
  std::filesystem::path final_path;
  std::filesystem::path temp_path;
  std::string file;  // for messages
  h5::Handle h5file;
  struct Modality {
    ModalitySpec spec;
    h5::Handle values;
    h5::Handle present;
  };
  std::map<std::string, Modality> modalities;
  uint32_t num_items = 0;
  bool committed = false;
};

FeatureStoreWriter::FeatureStoreWriter(const std::filesystem::path& path, const StoreHeader& header)
    : impl_(std::make_unique<Impl>()) {
  h5::quiet_errors();
  auto& s = *impl_;
  s.final_path = path;
  s.temp_path = temp_path_for(path);
  s.file = path.string();
  s.num_items = static_cast<uint32_t>(header.item_ids.size());
  PIXELREC_CHECK(header.tag_ids.size() == header.item_ids.size() &&
                     header.train_interactions.size() == header.item_ids.size(),
                 "store header columns differ in length");
  ensure_parent_directory(path);
  s.h5file =
      h5::Handle(h5::check(H5Fcreate(s.temp_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                           "creating the feature store", s.file),
                 H5Fclose);
  const hid_t root = s.h5file.get();

  nlohmann::json extractors = nlohmann::json::object();
  for (const auto& m : header.modalities)
    extractors[m.name] = nlohmann::json::parse(m.extractor_json.empty() ? "{}" : m.extractor_json);
  h5::write_string_attribute(root, "format", "pixelrec-feature-store", s.file);
  h5::write_int_attribute(root, "format_version", kFormatVersion, s.file);
  h5::write_string_attribute(root, "fingerprint", header.fingerprint, s.file);
  h5::write_string_attribute(root, "dtype", header.dtype, s.file);
  h5::write_int_attribute(root, "num_items", s.num_items, s.file);
  h5::write_int_attribute(root, "chunk_items", header.chunk_items, s.file);
  h5::write_string_attribute(root, "extractors", extractors.dump(), s.file);
  h5::write_string_attribute(root, "created_by", "pixelrec " PIXELREC_VERSION_STRING, s.file);

  h5::write_strings(root, "item_ids", header.item_ids, s.file);
  h5::write_strings(root, "tag_vocab", header.tag_vocab, s.file);
  {
    auto tags = create_1d(root, "tag_ids", H5T_STD_I32LE, s.num_items, s.file);
    if (s.num_items)
      h5::check(
          H5Dwrite(tags, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, header.tag_ids.data()),
          "writing tag_ids", s.file);
    auto counts = create_1d(root, "train_interactions", H5T_STD_I64LE, s.num_items, s.file);
    if (s.num_items)
      h5::check(H5Dwrite(counts, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         header.train_interactions.data()),
                "writing train_interactions", s.file);
  }

  h5::Handle features(h5::check(H5Gcreate2(root, "features", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                "creating group features", s.file),
                      H5Gclose);
  h5::Handle presence(h5::check(H5Gcreate2(root, "presence", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                "creating group presence", s.file),
                      H5Gclose);
  h5::Handle half = h5::half_float_type();
  const hid_t value_type = header.dtype == "float16" ? half.get() : H5T_IEEE_F32LE;
  for (const auto& spec : header.modalities) {
    PIXELREC_CHECK(spec.dim > 0, "modality " + spec.name + " has no dimension");
    const hsize_t dims[2] = {s.num_items, static_cast<hsize_t>(spec.dim)};
    h5::Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
    h5::Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (s.num_items > 0) {
      const hsize_t chunk[2] = {std::min<hsize_t>(header.chunk_items, s.num_items), dims[1]};
      H5Pset_chunk(props, 2, chunk);
    }
    Impl::Modality m;
    m.spec = spec;
    m.values = h5::Handle(h5::check(H5Dcreate2(features, spec.name.c_str(), value_type, space,
                                               H5P_DEFAULT, props, H5P_DEFAULT),
                                    "creating dataset features/" + spec.name, s.file),
                          H5Dclose);
    h5::write_int_attribute(m.values, "dim", spec.dim, s.file);
    h5::write_string_attribute(m.values, "extractor", spec.extractor_json, s.file);
    m.present = create_1d(presence, spec.name, H5T_STD_U8LE, s.num_items, s.file);
    s.modalities.emplace(spec.name, std::move(m));
  }
}

FeatureStoreWriter::~FeatureStoreWriter() {
  if (impl_ && !impl_->committed) {
    impl_->modalities.clear();
    impl_->h5file.reset();
    std::error_code ec;
    std::filesystem::remove(impl_->temp_path, ec);
  }
}

void FeatureStoreWriter::write_rows(const std::string& modality, uint32_t begin, uint32_t count,
                                    const float* values, const uint8_t* present) {
  auto& s = *impl_;
  auto it = s.modalities.find(modality);
  PIXELREC_CHECK(it != s.modalities.end(), "unknown modality " + modality);
  PIXELREC_CHECK(static_cast<uint64_t>(begin) + count <= s.num_items, "rows outside the store");
  if (count == 0) return;
  auto& m = it->second;
  const hsize_t start[2] = {begin, 0};
  const hsize_t extent[2] = {count, static_cast<hsize_t>(m.spec.dim)};
  h5::Handle file_space(H5Dget_space(m.values), H5Sclose);
  H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, extent, nullptr);
  h5::Handle mem_space(H5Screate_simple(2, extent, nullptr), H5Sclose);
  h5::check(H5Dwrite(m.values, H5T_NATIVE_FLOAT, mem_space, file_space, H5P_DEFAULT, values),
            "writing features/" + modality, s.file);
  h5::Handle pfile(H5Dget_space(m.present), H5Sclose);
  const hsize_t pstart = begin, pcount = count;
  H5Sselect_hyperslab(pfile, H5S_SELECT_SET, &pstart, nullptr, &pcount, nullptr);
  h5::Handle pmem(H5Screate_simple(1, &pcount, nullptr), H5Sclose);
  h5::check(H5Dwrite(m.present, H5T_NATIVE_UINT8, pmem, pfile, H5P_DEFAULT, present),
            "writing presence/" + modality, s.file);
}

void FeatureStoreWriter::commit() {
  auto& s = *impl_;
  s.modalities.clear();
  h5::check(H5Fflush(s.h5file, H5F_SCOPE_GLOBAL), "flushing the feature store", s.file);
  s.h5file.reset();
  // Durable (file and directory entry) before the caller deletes the parts it was made from.
  sync_and_rename(s.temp_path, s.final_path);
  s.committed = true;
}

}  // namespace pixelrec::features
