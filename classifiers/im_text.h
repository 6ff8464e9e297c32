// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace imguard::classifiers {

/// A payload as text, for the line-based IM protocols. A view: no copy, no allocation.
inline std::string_view as_text(std::span<const uint8_t> p) noexcept {
  return {reinterpret_cast<const char*>(p.data()), p.size()};
}

inline bool contains(std::string_view text, std::string_view needle) noexcept {
  return text.find(needle) != std::string_view::npos;
}

}  // namespace imguard::classifiers
