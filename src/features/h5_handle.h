// RAII ownership of HDF5 identifiers and the small helpers the feature store shares; HDF5's own
// error printing is silenced and failures become pixelrec::Error naming the file and object.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

namespace pixelrec::features::h5 {

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Silences HDF5's automatic error-stack printing (once per process).
void quiet_errors();

// Throws Error("<what> failed for '<file>'...") when id/status is negative; returns it otherwise.
hid_t check(hid_t id, const std::string& what, const std::string& file);

// The float16 file type (IEEE half precision, little endian) built from a float32 copy.
Handle half_float_type();
Handle vlen_string_type();

void write_string_attribute(hid_t object, const std::string& name, const std::string& value,
                            const std::string& file);
void write_int_attribute(hid_t object, const std::string& name, int64_t value,
                         const std::string& file);
std::string read_string_attribute(hid_t object, const std::string& name, const std::string& file);
int64_t read_int_attribute(hid_t object, const std::string& name, const std::string& file);

// Whole 1-D datasets of strings / rows [begin, begin+count) of a string dataset.
void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values,
                   const std::string& file);
std::vector<std::string> read_strings(hid_t parent, const std::string& name, hsize_t begin,
                                      hsize_t count, const std::string& file);

}  // namespace pixelrec::features::h5
