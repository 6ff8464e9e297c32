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

/// Sequential, bounds-checked reads of big-endian fields of one message (TLS handshakes,
/// Mojito): a read that would pass the end fails and consumes nothing, so a parser chains
/// its reads with && and rejects the message on the first false.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> b) noexcept : b_(b) {}
  bool u8(size_t& v) noexcept { return take(1, v); }
  bool u16(size_t& v) noexcept { return take(2, v); }
  bool u24(size_t& v) noexcept { return take(3, v); }
  bool skip(size_t n) noexcept {
    if (b_.size() - pos_ < n) {
      return false;
    }
    pos_ += n;
    return true;
  }
  /// The next `n` bytes, as a view.
  bool sub(size_t n, std::span<const uint8_t>& out) noexcept {
    if (b_.size() - pos_ < n) {
      return false;
    }
    out = b_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  size_t left() const noexcept { return b_.size() - pos_; }

 private:
  bool take(size_t n, size_t& v) noexcept {
    if (b_.size() - pos_ < n) {
      return false;
    }
    v = 0;
    for (size_t i = 0; i < n; ++i) {
      v = (v << 8) | b_[pos_ + i];
    }
    pos_ += n;
    return true;
  }
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

}  // namespace imguard::packet
