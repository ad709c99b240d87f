#include "features/numeric.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/errors.h"
#include "core/files.h"
#include "core/strings.h"

namespace pixelrec::features {

namespace {

struct MethodName {
  NumericMethod method;
  const char* name;
};

constexpr MethodName kMethods[] = {
    {NumericMethod::kStandardization, "standardization"},
    {NumericMethod::kMinMax, "min_max"},
    {NumericMethod::kLog1p, "log1p"},
    {NumericMethod::kLog1pStandardization, "log1p_standardization"},
    {NumericMethod::kNone, "none"},
};

bool uses_log(NumericMethod method) {
  return method == NumericMethod::kLog1p || method == NumericMethod::kLog1pStandardization;
}

bool standardizes(NumericMethod method) {
  return method == NumericMethod::kStandardization ||
         method == NumericMethod::kLog1pStandardization;
}

double prepared(NumericMethod method, double x) { return uses_log(method) ? std::log1p(x) : x; }

// (min, 1 / range); a constant column maps to 0.
std::pair<double, double> min_max_stats(const std::vector<double>& column) {
  const auto [lo, hi] = std::minmax_element(column.begin(), column.end());
  return {*lo, *hi > *lo ? 1.0 / (*hi - *lo) : 1.0};
}

// (mean, 1 / population standard deviation); a constant column maps to 0.
std::pair<double, double> standard_stats(const std::vector<double>& column) {
  const auto n = static_cast<double>(column.size());
  double sum = 0;
  for (double x : column) sum += x;
  const double mean = sum / n;
  double squares = 0;
  for (double x : column) squares += (x - mean) * (x - mean);
  const double stddev = std::sqrt(squares / n);
  return {mean, stddev > 0 ? 1.0 / stddev : 1.0};
}

}  // namespace

NumericMethod parse_numeric_method(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& m : kMethods) {
    if (name == m.name) return m.method;
    names.emplace_back(m.name);
  }
  throw Error("numeric normalization method '" + name + "' is unknown; set " +
              "data.numerical_normalization_method to one of: " + join(names, ", "));
}

std::string numeric_method_name(NumericMethod method) {
  for (const auto& m : kMethods)
    if (m.method == method) return m.name;
  throw InternalError("unhandled NumericMethod");
}

NumericScaler::NumericScaler(NumericMethod method, std::vector<std::string> columns)
    : method_(method),
      columns_(std::move(columns)),
      shift_(columns_.size(), 0.0),
      scale_(columns_.size(), 1.0) {}

void NumericScaler::fit(const std::vector<double>& values, size_t rows) {
  const size_t cols = columns_.size();
  PIXELREC_CHECK(values.size() == rows * cols, "fit: values must hold rows x columns");
  shift_.assign(cols, 0.0);
  scale_.assign(cols, 1.0);
  const bool has_statistics = standardizes(method_) || method_ == NumericMethod::kMinMax;
  if (rows == 0 || !has_statistics) return;
  std::vector<double> column(rows);
  for (size_t c = 0; c < cols; ++c) {
    for (size_t r = 0; r < rows; ++r) {
      const double raw = values[r * cols + c];
      PIXELREC_CHECK(std::isfinite(raw), "numeric values must be finite (preprocess repairs them)");
      column[r] = prepared(method_, raw);
    }
    const auto [shift, scale] =
        method_ == NumericMethod::kMinMax ? min_max_stats(column) : standard_stats(column);
    shift_[c] = shift;
    scale_[c] = scale;
  }
}

void NumericScaler::transform(const std::vector<double>& values, size_t rows, float* out) const {
  const size_t cols = columns_.size();
  PIXELREC_CHECK(values.size() == rows * cols, "transform: values must hold rows x columns");
  PIXELREC_CHECK(shift_.size() == cols && scale_.size() == cols, "scaler statistics/columns");
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const double raw = values[r * cols + c];
      PIXELREC_CHECK(std::isfinite(raw), "numeric values must be finite (preprocess repairs them)");
      out[r * cols + c] = static_cast<float>((prepared(method_, raw) - shift_[c]) * scale_[c]);
    }
}

std::string NumericScaler::to_json() const {
  const nlohmann::ordered_json json = {{"method", numeric_method_name(method_)},
                                       {"columns", columns_},
                                       {"shift", shift_},
                                       {"scale", scale_}};
  return json.dump(2);
}

NumericScaler NumericScaler::from_json(const std::string& text) {
  NumericScaler scaler;
  try {
    const auto json = nlohmann::json::parse(text);
    scaler.method_ = parse_numeric_method(json.at("method").get<std::string>());
    scaler.columns_ = json.at("columns").get<std::vector<std::string>>();
    scaler.shift_ = json.at("shift").get<std::vector<double>>();
    scaler.scale_ = json.at("scale").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("numeric scaler JSON is malformed (") + e.what() +
                "); rerun `pixelrec cache --force-recompute` to rewrite it");
  }
  if (scaler.shift_.size() != scaler.columns_.size() ||
      scaler.scale_.size() != scaler.columns_.size())
    throw Error("numeric scaler JSON has " + std::to_string(scaler.columns_.size()) +
                " columns but shift/scale of another length; rerun `pixelrec cache "
                "--force-recompute` to rewrite it");
  return scaler;
}

void NumericScaler::save(const std::filesystem::path& path) const {
  write_file_atomic(path, to_json() + "\n");
}

NumericScaler NumericScaler::load(const std::filesystem::path& path) {
  const std::string text = read_file(path, "numeric scaler");
  try {
    return from_json(text);
  } catch (const Error& e) {
    throw Error("'" + path.string() + "': " + e.what());
  }
}

}  // namespace pixelrec::features
