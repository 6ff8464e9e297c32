// SPDX-License-Identifier: GPL-3.0-or-later
// Output encoding shared by every report, event and listing imguard prints: JSON (the one
// include of nlohmann-json) and the text helpers that keep names safe to print.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace imguard::engine {

/// A JSON value whose objects keep their keys in insertion order, so a record's field
/// order is the order the code adds them (the JSON-lines contract and golden files rely
/// on it). Internal to imguard_engine (and its tests): public headers do not expose it.
using Json = nlohmann::ordered_json;

/// The functions below are pure (no shared state: thread-safe) and never throw but
/// std::bad_alloc.

/// One compact JSON text (no spaces, no newline). Strings are written as UTF-8; bytes
/// that are not well-formed UTF-8 (file names, names from the config) become U+FFFD, so
/// the output is always valid JSON. Allocates; throws only std::bad_alloc.
std::string json_dump(const Json& value);

/// Writes json_dump(value) and a newline to `out` (stdio errors are the caller's to check
/// with ferror()).
void json_write_line(std::FILE* out, const Json& value);

/// `s` with every byte that is not part of a well-formed UTF-8 sequence (RFC 3629)
/// replaced by U+FFFD. Allocates.
std::string utf8_sanitize(std::string_view s);

/// `s` made safe to echo to a terminal: C0 controls (ESC included), DEL, C1 controls
/// (U+0080..U+009F) and bytes of ill-formed UTF-8 become `\xNN` (per byte); everything
/// else (printable ASCII, well-formed UTF-8) is unchanged. Allocates.
std::string terminal_safe(std::string_view s);

}  // namespace imguard::engine
