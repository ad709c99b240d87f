// The coordinator <-> worker protocol of a distributed study: newline-delimited JSON objects over
// TCP, each with "v" (the protocol version) and "type". Message builders, field readers that name
// the offending field, error codes, and the constant-time token comparison. See docs/hpo.md.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/errors.h"

namespace pixelrec::hpo::protocol {

inline constexpr int kVersion = 1;
// Bounds checked while a line is parsed, before anything recurses over it: nesting depth and
// the number of JSON values (messages carry a trial's parameters and metrics: a few hundred).
inline constexpr int kMaxDepth = 32;
inline constexpr size_t kMaxElements = 16'384;

// Error codes carried by `error {code, message}`.
namespace code {
inline constexpr const char* kBadJson = "bad_json";           // not a JSON object
inline constexpr const char* kBadField = "bad_field";         // a field is missing or ill-typed
inline constexpr const char* kUnknownType = "unknown_type";   // "type" names no message
inline constexpr const char* kVersion = "version";            // "v" is not kVersion
inline constexpr const char* kHelloFirst = "hello_first";     // first message not hello / 2nd hello
inline constexpr const char* kUnauthorized = "unauthorized";  // wrong token
inline constexpr const char* kTooLong = "too_long";           // line longer than the maximum
inline constexpr const char* kIdleTimeout = "idle_timeout";   // silent for too long
inline constexpr const char* kUnknownTrial = "unknown_trial";  // no such trial in the study
inline constexpr const char* kInternal = "internal";       // the coordinator failed on this message
inline constexpr const char* kTooComplex = "too_complex";  // deeper or larger than the bounds
inline constexpr const char* kSlowReader = "slow_reader";  // replies pile up unread: cut
// The trial's lease is live but held by another connection (and no valid lease_key was sent), or
// the attempt named was never handed out.
inline constexpr const char* kNotLeaseholder = "not_leaseholder";
// Carried by `cancel`: the attempt (or evaluation) the message is about lost its lease.
inline constexpr const char* kStaleAttempt = "stale_attempt";
}  // namespace code

// A message that breaks the protocol; `code` is one of the codes above.
class ProtocolError : public Error {
 public:
  ProtocolError(std::string code, const std::string& message)
      : Error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// Parses one line (without its newline): a JSON object whose "v" is kVersion and whose "type" is
// a string, nested at most kMaxDepth deep with at most kMaxElements values. Throws ProtocolError
// (kBadJson, kTooComplex, kVersion, kBadField).
nlohmann::json parse_line(std::string_view line);

// The message as one line, newline included. Non-finite numbers are written as null.
std::string encode(const nlohmann::json& message);

// {"v": kVersion, "type": type}.
nlohmann::json make(std::string_view type);
// error {code, message}.
nlohmann::json make_error(std::string_view error_code, std::string_view message);

// Field readers: throw ProtocolError(kBadField) naming `field` when it is missing or ill-typed.
const std::string& type_of(const nlohmann::json& message);
std::string get_string(const nlohmann::json& message, const char* field);
int64_t get_int(const nlohmann::json& message, const char* field);
// A number; null stands for NaN (how encode() writes a non-finite value).
double get_number_or_nan(const nlohmann::json& message, const char* field);
const nlohmann::json& get_object(const nlohmann::json& message, const char* field);

// Client text fit for an error reply or a log line: its first `max_bytes` bytes in single quotes,
// backslashes, control characters and non-ASCII bytes escaped (\n, \t, \xNN), "..." and the
// full size when cut. A client can neither flood a log nor forge a line in it.
std::string quote_client_text(std::string_view text, size_t max_bytes = 60);

// Compares in time that depends only on the lengths, not on where the texts differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// 128 bits from the kernel's random source (getrandom) as 32 hex digits: a lease's key. Throws
// Error when the kernel gives none.
std::string random_key();

}  // namespace pixelrec::hpo::protocol
