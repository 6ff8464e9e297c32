// SPDX-License-Identifier: GPL-3.0-or-later
// Internal to the policy library: "<integer><unit>" values (rates, sizes) with one unit
// table per kind, so every such key is parsed and overflow-checked alike.
#pragma once

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

namespace imguard::policy {

/// A unit: the value is n * mult / div.
struct UnitScale {
  std::string_view name;
  uint64_t mult = 1;
  uint64_t div = 1;
};

/// `text` as an unsigned integer directly followed by one of `units` (exact spelling);
/// nullopt when malformed, the unit unknown, or n * mult overflows.
inline std::optional<uint64_t> parse_scaled(std::string_view text,
                                            std::span<const UnitScale> units) noexcept {
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data()) {
    return std::nullopt;
  }
  const std::string_view unit = text.substr(static_cast<size_t>(ptr - text.data()));
  for (const UnitScale& u : units) {
    if (u.name == unit) {
      if (n > std::numeric_limits<uint64_t>::max() / u.mult) {
        return std::nullopt;
      }
      return n * u.mult / u.div;
    }
  }
  return std::nullopt;
}

}  // namespace imguard::policy
