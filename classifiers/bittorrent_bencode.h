// SPDX-License-Identifier: GPL-3.0-or-later
// A bounded bencode reader (BEP 3 "bencoding") for the BitTorrent classifiers: DHT KRPC
// messages (BEP 5) and tracker responses. Views only; never allocates, never throws, never
// reads past the span it was given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace imguard::classifiers::bencode {

using Bytes = std::span<const uint8_t>;

/// Nesting deeper than this is refused (real KRPC and tracker messages use 3 levels).
inline constexpr int kMaxDepth = 8;

/// The end offset of the value starting at `pos`, or nullopt if it is malformed or
/// truncated. Integers must be canonical enough to parse ("i-12e"); string lengths must fit.
std::optional<size_t> skip(Bytes in, size_t pos, int depth = 0) noexcept;

/// The contents of the byte string starting at `pos` ("4:spam" → "spam") and its end.
struct String {
  Bytes value;
  size_t end = 0;
};
std::optional<String> string_at(Bytes in, size_t pos) noexcept;

/// Finds `key` in the dictionary that starts at `pos` and returns the span of its encoded
/// value. nullopt if `pos` is not a well-formed dictionary or the key is absent.
std::optional<Bytes> find(Bytes in, size_t pos, std::string_view key) noexcept;

/// Like find(), but for a dictionary that may be cut short (a tracker response split over
/// TCP segments): scans entries until the data ends, and returns a string value that is
/// cut short as the bytes that are present.
std::optional<Bytes> find_string_prefix(Bytes in, size_t pos, std::string_view key) noexcept;

/// The string value of `key` in the dictionary at `pos`, if present and a string.
std::optional<Bytes> find_string(Bytes in, size_t pos, std::string_view key) noexcept;

}  // namespace imguard::classifiers::bencode
