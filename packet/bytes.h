// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace imguard::packet {

/// Reads of unaligned big- (network order) and little-endian integers at byte `at` of a
/// packet. The caller checks `at + width <= bytes.size()` first: these never check, so a
/// parser states its length test once, where the wire format says how long a field is.
inline uint16_t be16(std::span<const uint8_t> b, size_t at) noexcept {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}
inline uint32_t be32(std::span<const uint8_t> b, size_t at) noexcept {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
         uint32_t{b[at + 3]};
}
inline uint16_t le16(std::span<const uint8_t> b, size_t at) noexcept {
  return static_cast<uint16_t>(b[at] | (b[at + 1] << 8));
}
inline uint32_t le32(std::span<const uint8_t> b, size_t at) noexcept {
  return uint32_t{b[at]} | (uint32_t{b[at + 1]} << 8) | (uint32_t{b[at + 2]} << 16) |
         (uint32_t{b[at + 3]} << 24);
}

}  // namespace imguard::packet
