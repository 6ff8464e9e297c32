// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace imguard::packet {

/// An IPv4 or IPv6 address. IPv4 is kept in the first 4 bytes, the rest zero, so two
/// addresses compare and hash as plain bytes. A value type; cheap to copy.
struct Address {
  enum class Family : uint8_t { kNone = 0, kV4 = 4, kV6 = 6 };

  std::array<uint8_t, 16> bytes{};
  Family family = Family::kNone;

  static Address v4(const uint8_t* four_bytes) noexcept;
  static Address v6(const uint8_t* sixteen_bytes) noexcept;
  /// Parses dotted IPv4 or RFC 5952 IPv6 text; family kNone on failure.
  static Address parse(const std::string& text) noexcept;

  bool is_v4() const noexcept { return family == Family::kV4; }
  std::string to_string() const;

  friend auto operator<=>(const Address&, const Address&) = default;
};

}  // namespace imguard::packet
