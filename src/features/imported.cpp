#include "features/imported.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "core/errors.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/strings.h"
#include "features/h5_handle.h"

namespace pixelrec::features {

namespace fs = std::filesystem;

namespace {

constexpr int kVersion = 1;
constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicSize = 6;
constexpr const char* kNpyFix = "; write it with numpy.save(path, matrix.astype('float32'))";
constexpr const char* kH5Fix =
    "; an imported .h5 needs /item_ids (strings) and /embeddings [N, D] (floats)";

[[noreturn]] void bad_npy(const fs::path& file, const std::string& what) {
  throw Error("'" + file.string() + "' is not a usable .npy embedding matrix: " + what + kNpyFix);
}

// The header dict NumPy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<uint64_t> shape;
};

// A parser for exactly the Python literal subset of .npy headers (strings, booleans, int tuples).
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const fs::path& file) : text_(text), file_(file) {}

  NpyHeader parse() {
    NpyHeader header;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (!accept('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        header.descr = string_literal();
        has_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
        has_order = true;
      } else if (key == "shape") {
        header.shape = int_tuple();
        has_shape = true;
      } else {
        bad_npy(file_, "unexpected header key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    if (!has_descr || !has_order || !has_shape)
      bad_npy(file_, "the header lacks descr, fortran_order or shape");
    return header;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) bad_npy(file_, std::string("malformed header (expected '") + c + "')");
  }
  std::string string_literal() {
    skip_space();
    const char quote = pos_ < text_.size() ? text_[pos_] : '\0';
    if (quote != '\'' && quote != '"') bad_npy(file_, "malformed header (expected a string)");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad_npy(file_, "malformed header (unterminated string)");
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    for (const std::string_view word : {"True", "False"}) {
      if (text_.substr(pos_, word.size()) != word) continue;
      pos_ += word.size();
      return word == "True";
    }
    bad_npy(file_, "malformed header (fortran_order is not True or False)");
  }
  std::vector<uint64_t> int_tuple() {
    std::vector<uint64_t> values;
    expect('(');
    while (!accept(')')) {
      skip_space();
      const size_t begin = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      const auto value = parse_int(text_.substr(begin, pos_ - begin));
      if (!value) bad_npy(file_, "malformed header (shape is not a tuple of integers)");
      values.push_back(static_cast<uint64_t>(*value));
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return values;
  }

  std::string_view text_;
  const fs::path& file_;
  size_t pos_ = 0;
};

uint32_t read_le(std::string_view bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i)
    value |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  return value;
}

// The header and the byte offset where the data starts.
std::pair<NpyHeader, size_t> read_npy_header(std::string_view bytes, const fs::path& file) {
  if (bytes.size() < 10 || bytes.substr(0, kNpyMagicSize) != std::string_view(kNpyMagic))
    bad_npy(file, "it does not start with the NPY magic bytes");
  const auto major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3)
    bad_npy(file, "format version " + std::to_string(major) + " is unknown");
  const size_t width = major == 1 ? 2 : 4;
  const size_t start = 8 + width;
  if (bytes.size() < start) bad_npy(file, "the header is truncated");
  const size_t length = read_le(bytes, 8, width);
  if (bytes.size() < start + length) bad_npy(file, "the header is truncated");
  return {NpyHeaderParser(bytes.substr(start, length), file).parse(), start + length};
}

template <class T>
void copy_rows(std::string_view data, std::vector<float>& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    T value;
    std::memcpy(&value, data.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<float>(value);
  }
}

// `<file>.ids` or `<stem>.ids.txt`, one id a line.
std::vector<std::string> read_id_sidecar(const fs::path& file, size_t rows) {
  const fs::path candidates[] = {fs::path(file.string() + ".ids"),
                                 file.parent_path() / (file.stem().string() + ".ids.txt")};
  const auto found = std::find_if(std::begin(candidates), std::end(candidates),
                                  [](const fs::path& p) { return fs::is_regular_file(p); });
  if (found == std::end(candidates))
    throw Error("no item ids for '" + file.string() +
                "': write the ids of its rows, one a line in row order, to '" +
                candidates[0].string() + "' or '" + candidates[1].string() + "'");
  std::vector<std::string> ids = split(read_file(*found, "item id file"), '\n');
  if (!ids.empty() && ids.back().empty()) ids.pop_back();  // the final newline
  for (auto& id : ids)
    if (!id.empty() && id.back() == '\r') id.pop_back();
  if (ids.size() != rows)
    throw Error("'" + found->string() + "' lists " + std::to_string(ids.size()) +
                " item ids but '" + file.string() + "' has " + std::to_string(rows) +
                " rows; write exactly one id per row, in row order");
  return ids;
}

// Fixed-length or variable-length strings of the 1-D dataset /item_ids.
// Imported tables are held in memory: at most 2^33 values (32 GiB of float32) and 2^20
// dimensions; an HDF5 file may declare any extent (chunked datasets with nothing written take no
// space), so sizes are checked before anything is allocated or read.
constexpr uint64_t kMaxImportedValues = uint64_t(1) << 33;
constexpr uint64_t kMaxImportedDim = uint64_t(1) << 20;

// n * m, or Error naming the dataset when the product overflows or exceeds `limit`.
size_t checked_size(uint64_t n, uint64_t m, uint64_t limit, const std::string& file,
                    const char* dataset, const char* unit) {
  if (m != 0 && n > limit / m)
    throw Error("'" + file + "': " + dataset + " declares " + std::to_string(n) + " x " +
                std::to_string(m) + " " + unit + ", more than the " + std::to_string(limit) +
                " an imported table may hold; the file is damaged or not an embedding export");
  return static_cast<size_t>(n * m);
}

std::vector<std::string> read_h5_ids(hid_t f, const std::string& file) {
  h5::Handle set(H5Dopen2(f, "item_ids", H5P_DEFAULT), H5Dclose);
  h5::Handle type(H5Dget_type(set), H5Tclose);
  h5::Handle space(H5Dget_space(set), H5Sclose);
  hsize_t n = 0;
  if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_ndims(space) != 1)
    throw Error("'" + file + "': /item_ids is not a 1-D string dataset" + kH5Fix);
  H5Sget_simple_extent_dims(space, &n, nullptr);
  if (H5Tis_variable_str(type) > 0) return h5::read_strings(f, "item_ids", 0, n, file);
  const size_t width = H5Tget_size(type);
  std::string buffer(checked_size(n, width, kMaxImportedValues, file, "/item_ids", "bytes"), '\0');
  h5::Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem, width);
  H5Tset_strpad(mem, H5T_STR_NULLPAD);
  if (H5Dread(set, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0)
    throw Error("cannot read /item_ids of '" + file + "'" + kH5Fix);
  std::vector<std::string> ids(n);
  for (size_t i = 0; i < n; ++i) {
    std::string_view id(buffer.data() + i * width, width);
    ids[i] = std::string(id.substr(0, id.find('\0')));
  }
  return ids;
}

void check_table(const EmbeddingTable& table, const fs::path& file) {
  if (table.dim > kMaxImportedDim)
    throw Error("'" + file.string() + "' has embeddings of dimension " + std::to_string(table.dim) +
                ", more than " + std::to_string(kMaxImportedDim) +
                "; reduce the dimension when exporting");
  if (table.dim == 0 || table.ids.empty())
    throw Error("'" + file.string() + "' holds no embeddings (shape " +
                std::to_string(table.ids.size()) + " x " + std::to_string(table.dim) +
                "); export at least one item");
  for (size_t i = 0; i < table.values.size(); ++i)
    if (!std::isfinite(table.values[i]))
      throw Error("'" + file.string() + "': row " + std::to_string(i / table.dim) + " (item " +
                  table.ids[i / table.dim] + ") holds a non-finite value; fix the export");
}

class ImportedExtractor final : public FeatureExtractor {
 public:
  ImportedExtractor(std::string modality, const fs::path& file)
      : modality_(std::move(modality)), file_(fs::absolute(file)) {
    PIXELREC_CHECK(modality_ == "image" || modality_ == "text", "modality is image or text");
    const std::string ext = to_lower_ascii(file_.extension().string());
    Hasher hasher;
    if (ext == ".npy") {
      table_ = read_npy_embeddings(file_);
      hasher.add_file_contents(file_);
      hasher.add(join(table_.ids, "\n"));
      format_ = "npy";
    } else if (ext == ".h5" || ext == ".hdf5") {
      table_ = read_h5_embeddings(file_);
      hasher.add_file_contents(file_);
      format_ = "h5";
    } else {
      throw Error("imported embeddings '" + file.string() +
                  "' must be a .npy (with an id file) or an .h5 file; convert them or point "
                  "import: at such a file");
    }
    content_hash_ = hasher.hex();
    index_.reserve(table_.ids.size());
    for (size_t row = 0; row < table_.ids.size(); ++row)
      if (!index_.emplace(table_.ids[row], static_cast<uint32_t>(row)).second)
        throw Error("'" + file.string() + "' lists item '" + table_.ids[row] +
                    "' twice; keep one row per item");
  }

  std::string modality() const override { return modality_; }
  int dim() const override { return static_cast<int>(table_.dim); }

  std::string describe() const override {
    const nlohmann::ordered_json json = {{"name", "imported"},    {"version", kVersion},
                                         {"modality", modality_}, {"path", file_.string()},
                                         {"format", format_},     {"rows", table_.ids.size()},
                                         {"dim", table_.dim},     {"content_hash", content_hash_}};
    return json.dump();
  }

  ExtractBatchStats extract(const std::vector<const ItemContent*>& batch, float* out,
                            uint8_t* present) override {
    const size_t dim = table_.dim;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto it = index_.find(batch[i]->id);
      present[i] = it != index_.end() ? 1 : 0;
      if (it == index_.end())
        std::fill(out + i * dim, out + (i + 1) * dim, 0.0f);
      else
        std::copy_n(table_.values.data() + it->second * dim, dim, out + i * dim);
    }
    return {};
  }

 private:
  std::string modality_;
  fs::path file_;
  std::string format_;
  EmbeddingTable table_;
  std::unordered_map<std::string, uint32_t> index_;
  std::string content_hash_;
};

}  // namespace

EmbeddingTable read_npy_embeddings(const fs::path& file) {
  const std::string bytes = read_file(file, "embedding file");
  const auto [header, offset] = read_npy_header(bytes, file);
  if (header.fortran_order) bad_npy(file, "it is in Fortran order (use numpy.ascontiguousarray)");
  if (header.shape.size() != 2)
    bad_npy(file,
            "it has " + std::to_string(header.shape.size()) + " dimensions, not 2 (items x dim)");
  size_t item_size = 0;
  if (header.descr == "<f4")
    item_size = 4;
  else if (header.descr == "<f8")
    item_size = 8;
  else
    bad_npy(file, "dtype '" + header.descr + "' is not little-endian float32 or float64");
  const size_t rows = header.shape[0], dim = header.shape[1];
  const size_t available = bytes.size() - offset;
  const bool fits = dim == 0 || rows <= SIZE_MAX / item_size / dim;  // the product cannot overflow
  if (!fits || rows * dim * item_size != available)
    bad_npy(file, "it holds " + std::to_string(available) + " data bytes where shape (" +
                      std::to_string(rows) + ", " + std::to_string(dim) + ") needs " +
                      (fits ? std::to_string(rows * dim * item_size) : "more"));
  EmbeddingTable table;
  table.dim = dim;
  table.values.resize(rows * dim);
  const std::string_view data = std::string_view(bytes).substr(offset);
  if (item_size == 4)
    copy_rows<float>(data, table.values);
  else
    copy_rows<double>(data, table.values);
  table.ids = read_id_sidecar(file, rows);
  check_table(table, file);
  return table;
}

EmbeddingTable read_h5_embeddings(const fs::path& file) {
  h5::quiet_errors();
  const std::string name = file.string();
  h5::Handle f(H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (f.get() < 0)
    throw Error("cannot open '" + name + "' as HDF5 (missing or not an HDF5 file)" + kH5Fix);
  for (const char* dataset : {"item_ids", "embeddings"})
    if (H5Lexists(f, dataset, H5P_DEFAULT) <= 0)
      throw Error("'" + name + "' has no /" + dataset + " dataset" + kH5Fix);
  EmbeddingTable table;
  table.ids = read_h5_ids(f, name);
  h5::Handle set(H5Dopen2(f, "embeddings", H5P_DEFAULT), H5Dclose);
  h5::Handle type(H5Dget_type(set), H5Tclose);
  h5::Handle space(H5Dget_space(set), H5Sclose);
  hsize_t dims[2] = {0, 0};
  if (H5Tget_class(type) != H5T_FLOAT || H5Sget_simple_extent_ndims(space) != 2)
    throw Error("'" + name + "': /embeddings is not a 2-D float dataset" + kH5Fix);
  H5Sget_simple_extent_dims(space, dims, nullptr);
  if (dims[0] != table.ids.size())
    throw Error("'" + name + "' has " + std::to_string(table.ids.size()) + " item_ids but " +
                std::to_string(dims[0]) + " embedding rows; write one id per row");
  table.dim = dims[1];
  table.values.resize(
      checked_size(dims[0], dims[1], kMaxImportedValues, name, "/embeddings", "values"));
  if (!table.values.empty() &&
      H5Dread(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, table.values.data()) < 0)
    throw Error("cannot read /embeddings of '" + name + "'" + kH5Fix);
  check_table(table, file);
  return table;
}

std::unique_ptr<FeatureExtractor> make_imported_extractor(const std::string& modality,
                                                          const fs::path& file) {
  return std::make_unique<ImportedExtractor>(modality, file);
}

}  // namespace pixelrec::features
