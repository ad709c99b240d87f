// Imported embeddings: .npy matrices (headers built here byte by byte) with id sidecars, .h5
// files written with the HDF5 C API, lookup by item id, and the errors a user can cause.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/errors.h"
#include "features/h5_handle.h"
#include "features/imported.h"
#include "support/test_support.h"

namespace pixelrec::features {
namespace {

namespace fs = std::filesystem;

template <class T>
std::string bytes_of(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A .npy file as numpy.save writes it: magic, version, little-endian header length, a dict
// padded with spaces to a multiple of 64 bytes and ending in a newline, then the data.
std::string npy(const std::string& dict_body, const std::string& data, int major = 1) {
  std::string dict = "{" + dict_body + "}";
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((dict.size() >> (8 * i)) & 0xFF);
  return out + dict + data;
}

std::string header(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", ";
}

struct Rows {
  std::vector<float> values;
  std::vector<uint8_t> present;
};

Rows extract(FeatureExtractor& extractor, const std::vector<std::string>& ids) {
  std::vector<ItemContent> items;
  for (const auto& id : ids) items.push_back({id, "", "", "", ""});
  std::vector<const ItemContent*> batch;
  for (const auto& item : items) batch.push_back(&item);
  Rows rows;
  rows.values.assign(ids.size() * static_cast<size_t>(extractor.dim()), -1.0f);
  rows.present.assign(ids.size(), 7);
  extractor.extract(batch, rows.values.data(), rows.present.data());
  return rows;
}

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// /item_ids as variable-length strings (h5py's default) or fixed-length ones (numpy 'S').
void write_h5(const fs::path& file, const std::vector<std::string>& ids,
              const std::vector<double>& values, hsize_t dim, bool fixed_ids = false) {
  h5::Handle f(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  ASSERT_GE(f.get(), 0);
  if (fixed_ids) {
    const size_t width = 8;
    std::string buffer(ids.size() * width, '\0');
    for (size_t i = 0; i < ids.size(); ++i) buffer.replace(i * width, ids[i].size(), ids[i]);
    h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, width);
    const hsize_t n = ids.size();
    h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    h5::Handle set(H5Dcreate2(f, "item_ids", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose);
    ASSERT_GE(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), 0);
  } else {
    h5::write_strings(f, "item_ids", ids, file.string());
  }
  const hsize_t dims[2] = {values.size() / dim, dim};
  h5::Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  h5::Handle set(
      H5Dcreate2(f, "embeddings", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose);
  ASSERT_GE(H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
}

class Imported : public ::testing::Test {
 protected:
  fs::path write_npy(const std::string& name, const std::string& contents,
                     const std::string& ids = "a\nb\nc\n") {
    test::write_text(dir_ / name, contents);
    if (!ids.empty()) test::write_text(dir_ / (name + ".ids"), ids);
    return dir_ / name;
  }
  fs::path float32_matrix() {
    return write_npy("emb.npy", npy(header("<f4", "(3, 2)"), bytes_of<float>({1, 2, 3, 4, 5, 6})));
  }
  std::string npy_error(const std::string& contents) {
    const fs::path file = write_npy("bad.npy", contents);
    return error_of([&] { read_npy_embeddings(file); });
  }
  std::string npy_message(const std::string& what) {
    return "'" + (dir_ / "bad.npy").string() + "' is not a usable .npy embedding matrix: " + what +
           "; write it with numpy.save(path, matrix.astype('float32'))";
  }

  test::ScratchDir dir_{"imported"};
};

TEST_F(Imported, NpyRowsAreLookedUpByIdAndMissingItemsAreMasked) {
  auto extractor = make_imported_extractor("image", float32_matrix());
  EXPECT_EQ(extractor->modality(), "image");
  EXPECT_EQ(extractor->dim(), 2);
  const Rows rows = extract(*extractor, {"c", "unknown", "a"});
  EXPECT_EQ(rows.values, (std::vector<float>{5, 6, 0, 0, 1, 2}));
  EXPECT_EQ(rows.present, (std::vector<uint8_t>{1, 0, 1}));
}

TEST_F(Imported, NpyFloat64WithVersion2HeaderAndStemIdsTxt) {
  const fs::path file = dir_ / "vectors.npy";
  const std::string data = bytes_of<double>({0.5, -1, 2, 3, 4, 1e-3});
  test::write_text(file, npy(header("<f8", "(2, 3)"), data, 2));
  test::write_text(dir_ / "vectors.ids.txt", "item 1\r\nitem 2\r\n");
  const EmbeddingTable table = read_npy_embeddings(file);
  EXPECT_EQ(table.ids, (std::vector<std::string>{"item 1", "item 2"}));
  EXPECT_EQ(table.dim, 3u);
  EXPECT_EQ(table.values, (std::vector<float>{0.5f, -1, 2, 3, 4, 1e-3f}));
}

TEST_F(Imported, H5RowsAreLookedUpById) {
  write_h5(dir_ / "emb.h5", {"x", "y"}, {1.5, 2.5, 3.5, -4, -5, -6}, 3);
  auto extractor = make_imported_extractor("text", dir_ / "emb.h5");
  EXPECT_EQ(extractor->modality(), "text");
  EXPECT_EQ(extractor->dim(), 3);
  const Rows rows = extract(*extractor, {"y", "z", "x"});
  EXPECT_EQ(rows.values, (std::vector<float>{-4, -5, -6, 0, 0, 0, 1.5, 2.5, 3.5}));
  EXPECT_EQ(rows.present, (std::vector<uint8_t>{1, 0, 1}));
}

TEST_F(Imported, H5AcceptsFixedLengthIds) {
  write_h5(dir_ / "fixed.h5", {"first", "second"}, {1, 2}, 1, true);
  const EmbeddingTable table = read_h5_embeddings(dir_ / "fixed.h5");
  EXPECT_EQ(table.ids, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(table.values, (std::vector<float>{1, 2}));
}

TEST_F(Imported, RejectsBadNpyHeadersNamingTheFile) {
  const std::string data = bytes_of<float>({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(npy_error("PK\x03\x04 a zip file"),
            npy_message("it does not start with the NPY magic bytes"));
  EXPECT_EQ(npy_error(npy(header("<f4", "(3, 2)", true), data)),
            npy_message("it is in Fortran order (use numpy.ascontiguousarray)"));
  EXPECT_EQ(npy_error(npy(header(">f4", "(3, 2)"), data)),
            npy_message("dtype '>f4' is not little-endian float32 or float64"));
  EXPECT_EQ(npy_error(npy(header("<i8", "(3, 1)"), data)),
            npy_message("dtype '<i8' is not little-endian float32 or float64"));
  EXPECT_EQ(npy_error(npy(header("<f4", "(3, 1, 2)"), data)),
            npy_message("it has 3 dimensions, not 2 (items x dim)"));
  EXPECT_EQ(npy_error(npy(header("<f4", "(3, 2)"), data.substr(4))),
            npy_message("it holds 20 data bytes where shape (3, 2) needs 24"));
  EXPECT_EQ(npy_error(npy(header("<f4", "(4611686018427387904, 2)"), data)),
            npy_message("it holds 24 data bytes where shape (4611686018427387904, 2) needs more"));
  EXPECT_EQ(npy_error(npy("'descr': '<f4', 'shape': (3, 2)", data)),
            npy_message("the header lacks descr, fortran_order or shape"));
  EXPECT_EQ(npy_error(npy("'descr': '<f4' 'shape'", data)),
            npy_message("malformed header (expected '}')"));
  EXPECT_EQ(npy_error(npy(header("<f4", "(3, 2)"), data, 4)),
            npy_message("format version 4 is unknown"));
}

TEST_F(Imported, RejectsIdFilesThatDoNotMatchTheRows) {
  const fs::path file = write_npy(
      "emb.npy", npy(header("<f4", "(3, 2)"), bytes_of<float>({1, 2, 3, 4, 5, 6})), "a\nb\n");
  EXPECT_EQ(error_of([&] { read_npy_embeddings(file); }),
            "'" + file.string() + ".ids' lists 2 item ids but '" + file.string() +
                "' has 3 rows; write exactly one id per row, in row order");
  fs::remove(file.string() + ".ids");
  EXPECT_EQ(error_of([&] { read_npy_embeddings(file); }),
            "no item ids for '" + file.string() + "': write the ids of its rows, one a line in " +
                "row order, to '" + file.string() + ".ids' or '" + (dir_ / "emb.ids.txt").string() +
                "'");
  write_npy("dup.npy", npy(header("<f4", "(2, 1)"), bytes_of<float>({1, 2})), "a\na\n");
  EXPECT_EQ(error_of([&] { make_imported_extractor("image", dir_ / "dup.npy"); }),
            "'" + (dir_ / "dup.npy").string() + "' lists item 'a' twice; keep one row per item");
}

TEST_F(Imported, RejectsH5FilesWithoutTheExpectedDatasets) {
  const fs::path file = dir_ / "emb.h5";
  write_h5(file, {"x", "y", "z"}, {1, 2}, 1);
  EXPECT_EQ(error_of([&] { read_h5_embeddings(file); }),
            "'" + file.string() + "' has 3 item_ids but 2 embedding rows; write one id per row");
  h5::Handle f(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  h5::write_strings(f, "item_ids", {"x"}, file.string());
  f.reset();
  EXPECT_EQ(error_of([&] { read_h5_embeddings(file); }),
            "'" + file.string() + "' has no /embeddings dataset; an imported .h5 needs /item_ids " +
                "(strings) and /embeddings [N, D] (floats)");
  test::write_text(dir_ / "text.h5", "not hdf5");
  EXPECT_NE(error_of([&] {
              read_h5_embeddings(dir_ / "text.h5");
            }).find("cannot open '" + (dir_ / "text.h5").string() + "' as HDF5"),
            std::string::npos);
}

// A crafted .h5 may declare extents whose byte counts overflow size_t (chunked datasets with
// nothing written take no space): refused with the sizes, never a wrapped-around allocation
// that the read then overruns.
void write_huge_declared_h5(const fs::path& file, hsize_t ids, size_t id_width, hsize_t rows,
                            hsize_t dim) {
  h5::Handle f(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  ASSERT_GE(f.get(), 0);
  const hsize_t chunk1 = 1, chunk2[2] = {1, 1};
  h5::Handle string_type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(string_type, id_width);
  h5::Handle id_space(H5Screate_simple(1, &ids, nullptr), H5Sclose);
  h5::Handle id_props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(id_props, 1, &chunk1);
  h5::Handle id_set(
      H5Dcreate2(f, "item_ids", string_type, id_space, H5P_DEFAULT, id_props, H5P_DEFAULT),
      H5Dclose);
  ASSERT_GE(id_set.get(), 0);
  const hsize_t dims[2] = {rows, dim};
  h5::Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  h5::Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(props, 2, chunk2);
  h5::Handle set(
      H5Dcreate2(f, "embeddings", H5T_IEEE_F32LE, space, H5P_DEFAULT, props, H5P_DEFAULT),
      H5Dclose);
  ASSERT_GE(set.get(), 0);
}

TEST_F(Imported, RejectsH5ExtentsWhoseSizesOverflowOrExceedTheBound) {
  const fs::path file = dir_ / "huge.h5";
  // 2^60 ids of 32 bytes: 2^65 bytes, which wraps to 0 in size_t.
  write_huge_declared_h5(file, hsize_t(1) << 60, 32, 4, 2);
  std::string error = error_of([&] { read_h5_embeddings(file); });
  EXPECT_NE(error.find("/item_ids declares 1152921504606846976 x 32 bytes"), std::string::npos)
      << error;
  // Rows x dim beyond the bound (ids match the rows, so the table itself is what is too big).
  write_huge_declared_h5(file, 16, 8, 16, hsize_t(1) << 62);
  error = error_of([&] { read_h5_embeddings(file); });
  EXPECT_NE(error.find("/embeddings declares 16 x 4611686018427387904 values"), std::string::npos)
      << error;
}

TEST_F(Imported, RejectsOtherFileTypes) {
  test::write_text(dir_ / "emb.csv", "a,1\n");
  EXPECT_EQ(error_of([&] { make_imported_extractor("image", dir_ / "emb.csv"); }),
            "imported embeddings '" + (dir_ / "emb.csv").string() +
                "' must be a .npy (with an id file) or an .h5 file; convert them or point "
                "import: at such a file");
}

TEST_F(Imported, DescribeNamesThePathAndHashesTheContents) {
  const fs::path file = float32_matrix();
  const auto a = nlohmann::json::parse(make_imported_extractor("image", file)->describe());
  EXPECT_EQ(a.at("name"), "imported");
  EXPECT_EQ(a.at("path"), fs::absolute(file).string());
  EXPECT_EQ(a.at("rows"), 3);
  EXPECT_EQ(a.at("dim"), 2);
  write_npy("emb.npy", npy(header("<f4", "(3, 2)"), bytes_of<float>({1, 2, 3, 4, 5, 7})));
  const auto b = nlohmann::json::parse(make_imported_extractor("image", file)->describe());
  EXPECT_NE(a.at("content_hash"), b.at("content_hash"));
  write_npy("emb.npy", npy(header("<f4", "(3, 2)"), bytes_of<float>({1, 2, 3, 4, 5, 6})),
            "a\nc\nb\n");
  const auto c = nlohmann::json::parse(make_imported_extractor("image", file)->describe());
  EXPECT_NE(a.at("content_hash"), c.at("content_hash"));
}

}  // namespace
}  // namespace pixelrec::features
