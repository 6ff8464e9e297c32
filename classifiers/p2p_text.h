// SPDX-License-Identifier: GPL-3.0-or-later
// Small byte helpers shared by the text- and length-framed P2P classifiers (Gnutella,
// Direct Connect, Soulseek).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>

#include "packet/bytes.h"

namespace imguard::classifiers::p2p {

using Bytes = std::span<const uint8_t>;

inline bool starts_with(Bytes p, std::string_view s) noexcept {
  return p.size() >= s.size() && std::equal(s.begin(), s.end(), p.begin(), [](char a, uint8_t b) {
           return static_cast<uint8_t>(a) == b;
         });
}
inline bool contains(Bytes p, uint8_t c) noexcept {
  return std::find(p.begin(), p.end(), c) != p.end();
}
using packet::le32;
inline bool printable(Bytes p) noexcept {
  return std::all_of(p.begin(), p.end(), [](uint8_t c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace imguard::classifiers::p2p
