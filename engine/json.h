// SPDX-License-Identifier: GPL-3.0-or-later
// The one place that chooses the JSON library (nlohmann-json): everything the engine
// prints as JSON is built as a Json value and written with json_line().
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace imguard::engine {

/// Keys keep their insertion order, so outputs are stable and read like the docs.
using Json = nlohmann::ordered_json;

/// One compact line with a trailing newline. Invalid UTF-8 in strings (file names, names
/// from a config) is replaced by U+FFFD instead of producing invalid JSON. Never throws.
std::string json_line(const Json& value) noexcept;

}  // namespace imguard::engine
