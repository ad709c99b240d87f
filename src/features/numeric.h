// Numeric item features (view/comment/... counters): scaling with statistics fitted on training
// items only (SPEC §5), saved as JSON so evaluation and inference scale new items identically.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace pixelrec::features {

enum class NumericMethod { kStandardization, kMinMax, kLog1p, kLog1pStandardization, kNone };

// Throws Error listing the allowed names.
NumericMethod parse_numeric_method(const std::string& name);
std::string numeric_method_name(NumericMethod method);

class NumericScaler {
 public:
  NumericScaler() = default;
  NumericScaler(NumericMethod method, std::vector<std::string> columns);

  // values: rows × columns, row-major (one row per training item). Non-finite values are an
  // internal error: preprocess has already repaired them to 0.
  void fit(const std::vector<double>& values, size_t rows);
  // Scales rows × columns values into `out` (float, same layout).
  void transform(const std::vector<double>& values, size_t rows, float* out) const;

  const std::vector<std::string>& columns() const { return columns_; }
  NumericMethod method() const { return method_; }
  std::string to_json() const;  // method, columns, per-column statistics
  static NumericScaler from_json(const std::string& json);
  void save(const std::filesystem::path& path) const;  // atomic
  static NumericScaler load(const std::filesystem::path& path);

 private:
  NumericMethod method_ = NumericMethod::kNone;
  std::vector<std::string> columns_;
  std::vector<double> shift_;  // per column: x' = (f(x) - shift) * scale
  std::vector<double> scale_;
};

}  // namespace pixelrec::features
