// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/json.h"

namespace imguard::engine {

std::string json_line(const Json& value) noexcept {
  try {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } catch (...) {
    return "{}\n";  // out of memory: an empty object rather than a torn line
  }
}

}  // namespace imguard::engine
