// The chart library embedded in every report (Chart.js, pinned by tools/report/package-lock.json;
// the definitions are generated at build time by embed_js.cmake).
#pragma once

#include <string>

namespace pixelrec::report {

// The library's UMD bundle, without its source-map comment.
std::string chart_library_js();

// "chart.js 4.6.1": npm package name and version.
std::string chart_library_name();

}  // namespace pixelrec::report
