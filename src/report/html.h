// Text helpers for the HTML report: escaping text from input files, number formats for tables,
// and JSON that is safe to embed inside a <script> element.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/text_formats.h"

namespace pixelrec::report {

// Escapes & < > " ' so any text from an input file is inert in element content and attributes.
using pixelrec::html_escape;

// Four significant digits for tables: "0.1251", "12.5", "29865", "5.06e-36"; "—" for NaN,
// "inf"/"-inf" for infinities.
std::string format_number(double value);

// The shortest text that reads back to the same double ("0.1250706873550421"); "nan", "inf".
std::string exact_number(double value);

// A table cell: the formatted number, its exact value in the title attribute.
std::string number_cell(double value, std::string_view css_class = "");

// JSON text with <, > and & written as \u escapes, so it cannot close a <script> element.
std::string script_safe_json(const nlohmann::json& value);

}  // namespace pixelrec::report
