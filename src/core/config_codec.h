// Decoding YAML nodes into typed values with validation; the building blocks of config_schema.cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "core/config_schema.h"
#include "core/errors.h"

namespace pixelrec::config_detail {

// One-line rendering of a node for error messages.
std::string render(const YAML::Node& node);

[[noreturn]] void bad_value(const std::string& path, const YAML::Node& node,
                            const std::string& allowed);

template <class T>
struct Codec;

template <>
struct Codec<bool> {
  static std::string name() { return "true or false"; }
  static bool decode(const YAML::Node& n) { return n.as<bool>(); }
};
template <>
struct Codec<int> {
  static std::string name() { return "an integer"; }
  static int decode(const YAML::Node& n) { return n.as<int>(); }
};
template <>
struct Codec<int64_t> {
  static std::string name() { return "an integer"; }
  static int64_t decode(const YAML::Node& n) { return n.as<int64_t>(); }
};
template <>
struct Codec<double> {
  static std::string name() { return "a number"; }
  static double decode(const YAML::Node& n) {
    double v = n.as<double>();
    if (!std::isfinite(v)) throw YAML::Exception(n.Mark(), "not finite");
    return v;
  }
};
template <>
struct Codec<std::string> {
  static std::string name() { return "a string"; }
  static std::string decode(const YAML::Node& n) {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "not a scalar");
    return n.as<std::string>();
  }
};
template <class E>
struct Codec<std::vector<E>> {
  static std::string name() { return "a list of " + plural(Codec<E>::name()); }
  static std::vector<E> decode(const YAML::Node& n) {
    if (!n.IsSequence()) throw YAML::Exception(n.Mark(), "not a list");
    std::vector<E> out;
    for (const auto& e : n) out.push_back(Codec<E>::decode(e));
    return out;
  }
  static std::string plural(std::string s) {
    if (s.rfind("an ", 0) == 0) s = s.substr(3);
    if (s.rfind("a ", 0) == 0) s = s.substr(2);
    return s + "s";
  }
};

// A validation rule: `ok` decides, `allowed` explains in words (shown in errors and docs).
template <class T>
struct Check {
  std::string allowed = Codec<T>::name();
  std::function<bool(const T&)> ok = [](const T&) { return true; };
};

template <class T>
Check<T> in_range(T lo, T hi) {
  std::ostringstream s;
  s << Codec<T>::name() << " in [" << lo << ", " << hi << "]";
  return {s.str(), [lo, hi](const T& v) { return v >= lo && v <= hi; }};
}

template <class T>
Check<T> at_least(T lo) {
  std::ostringstream s;
  s << Codec<T>::name() << " >= " << lo;
  return {s.str(), [lo](const T& v) { return v >= lo; }};
}

inline Check<double> positive() {
  return {"a number > 0", [](const double& v) { return v > 0; }};
}

inline Check<double> probability() { return in_range(0.0, 1.0); }

Check<std::string> one_of(std::vector<std::string> choices);

// A list whose every element passes `element`, optionally of a fixed length.
template <class E>
Check<std::vector<E>> each(Check<E> element, size_t exact_size = 0) {
  std::string allowed = (exact_size ? "a list of " + std::to_string(exact_size) + " values, "
                                    : std::string("a list, ")) +
                        "each " + element.allowed;
  return {allowed, [element, exact_size](const std::vector<E>& v) {
            if (exact_size && v.size() != exact_size) return false;
            for (const auto& e : v)
              if (!element.ok(e)) return false;
            return true;
          }};
}

// A non-empty list that also passes `inner`.
template <class E>
Check<std::vector<E>> non_empty(Check<std::vector<E>> inner) {
  return {"a non-empty list, " + inner.allowed.substr(std::string("a list, ").size()),
          [inner](const std::vector<E>& v) { return !v.empty() && inner.ok(v); }};
}

// The shortest decimal text that reads back as the same double ("0.3", not 0.29999999999999999).
std::string shortest_double(double v);

template <class T>
YAML::Node encode(const T& v) {
  if constexpr (std::is_same_v<T, double>) {
    return YAML::Node(shortest_double(v));
  } else {
    return YAML::Node(v);
  }
}
template <class E>
YAML::Node encode(const std::vector<E>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (const auto& e : v) n.push_back(encode(e));
  n.SetStyle(YAML::EmitterStyle::Flow);
  return n;
}

template <class T, class Access>
FieldSpec make_field(std::string path, Access access, std::string doc, Check<T> check) {
  FieldSpec f;
  f.path = path;
  f.allowed = check.allowed;
  f.doc = std::move(doc);
  f.assign = [path, access, check](Config& c, const YAML::Node& node) {
    T value;
    try {
      if (!node.IsDefined() || node.IsNull()) throw YAML::Exception(node.Mark(), "null");
      value = Codec<T>::decode(node);
    } catch (const YAML::Exception&) {
      bad_value(path, node, check.allowed);
    }
    if (!check.ok(value)) bad_value(path, node, check.allowed);
    access(c) = std::move(value);
  };
  f.dump = [access](const Config& c) { return encode(access(const_cast<Config&>(c))); };
  return f;
}

// An optional value: YAML null (or ~) means "not set".
template <class T, class Access>
FieldSpec make_optional_field(std::string path, Access access, std::string doc, Check<T> check) {
  Check<T> inner = check;
  FieldSpec f = make_field<T>(
      path, [access](Config& c) -> T& { return access(c).emplace(); }, doc, inner);
  auto assign_value = f.assign;
  f.allowed = check.allowed + ", or null";
  f.assign = [access, assign_value](Config& c, const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) {
      access(c).reset();
      return;
    }
    assign_value(c, node);
  };
  f.dump = [access](const Config& c) {
    const auto& v = access(const_cast<Config&>(c));
    return v ? encode(*v) : YAML::Node(YAML::NodeType::Null);
  };
  return f;
}

}  // namespace pixelrec::config_detail
