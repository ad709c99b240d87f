#include "features/h5_handle.h"

#include <mutex>

#include "core/errors.h"

namespace pixelrec::features::h5 {

void quiet_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

hid_t check(hid_t id, const std::string& what, const std::string& file) {
  if (id < 0)
    throw Error(what + " failed for '" + file +
                "' (is it an HDF5 feature store written by `pixelrec cache`? rerun "
                "`pixelrec cache --force-recompute` to rebuild it)");
  return id;
}

Handle half_float_type() {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  // IEEE 754 binary16: sign bit 15, exponent bits 10..14 (bias 15), mantissa bits 0..9.
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  return Handle(t, H5Tclose);
}

Handle vlen_string_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return Handle(t, H5Tclose);
}

void write_string_attribute(hid_t object, const std::string& name, const std::string& value,
                            const std::string& file) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, value.empty() ? 1 : value.size());
  H5Tset_strpad(type, H5T_STR_NULLPAD);  // exactly value.size() bytes, no terminator needed
  H5Tset_cset(type, H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(check(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                    "creating attribute " + name, file),
              H5Aclose);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr, type, padded.data()), "writing attribute " + name, file);
}

void write_int_attribute(hid_t object, const std::string& name, int64_t value,
                         const std::string& file) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(
      check(H5Acreate2(object, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT),
            "creating attribute " + name, file),
      H5Aclose);
  check(H5Awrite(attr, H5T_NATIVE_INT64, &value), "writing attribute " + name, file);
}

std::string read_string_attribute(hid_t object, const std::string& name, const std::string& file) {
  Handle attr(check(H5Aopen(object, name.c_str(), H5P_DEFAULT), "reading attribute " + name, file),
              H5Aclose);
  Handle type(H5Aget_type(attr), H5Tclose);
  if (H5Tis_variable_str(type) > 0) {
    char* text = nullptr;
    Handle mem = vlen_string_type();
    check(H5Aread(attr, mem, &text), "reading attribute " + name, file);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string out(H5Tget_size(type), '\0');
  Handle mem(H5Tcopy(type), H5Tclose);  // same size, padding and character set as stored
  check(H5Aread(attr, mem, out.data()), "reading attribute " + name, file);
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

int64_t read_int_attribute(hid_t object, const std::string& name, const std::string& file) {
  Handle attr(check(H5Aopen(object, name.c_str(), H5P_DEFAULT), "reading attribute " + name, file),
              H5Aclose);
  int64_t value = 0;
  check(H5Aread(attr, H5T_NATIVE_INT64, &value), "reading attribute " + name, file);
  return value;
}

void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values,
                   const std::string& file) {
  Handle type = vlen_string_type();
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle set(
      check(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            "creating dataset " + name, file),
      H5Dclose);
  std::vector<const char*> pointers(values.size());
  for (size_t i = 0; i < values.size(); ++i) pointers[i] = values[i].c_str();
  if (n > 0)
    check(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
          "writing dataset " + name, file);
}

std::vector<std::string> read_strings(hid_t parent, const std::string& name, hsize_t begin,
                                      hsize_t count, const std::string& file) {
  Handle set(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening dataset " + name, file),
             H5Dclose);
  std::vector<std::string> out;
  if (count == 0) return out;
  Handle file_space(H5Dget_space(set), H5Sclose);
  check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &begin, nullptr, &count, nullptr),
        "selecting rows of " + name, file);
  Handle mem_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
  Handle type = vlen_string_type();
  std::vector<char*> pointers(count, nullptr);
  check(H5Dread(set, type, mem_space, file_space, H5P_DEFAULT, pointers.data()),
        "reading dataset " + name, file);
  out.reserve(count);
  for (char* p : pointers) out.emplace_back(p ? p : "");
  H5Dvlen_reclaim(type, mem_space, H5P_DEFAULT, pointers.data());
  return out;
}

}  // namespace pixelrec::features::h5
