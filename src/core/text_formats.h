// Small text formats shared by every output writer: HTML escaping (study history, the report)
// and the UTC timestamps stored in result files, sidecars and study databases.
#pragma once

#include <string>
#include <string_view>

namespace pixelrec {

// & < > " ' → entities: safe inside HTML text and quoted attribute values.
std::string html_escape(std::string_view text);

// The current UTC time as ISO 8601 with seconds, e.g. "2026-11-29T07:00:00Z".
std::string utc_now_iso8601();

}  // namespace pixelrec
