// SPDX-License-Identifier: GPL-3.0-or-later
// Bencode (BEP 3): i<int>e, <len>:<bytes>, l<values>e, d<string key><value>...e.
#include "classifiers/bittorrent_bencode.h"

#include <algorithm>

namespace imguard::classifiers::bencode {
namespace {

bool is_digit(uint8_t c) noexcept {
  return c >= '0' && c <= '9';
}

bool equals(Bytes b, std::string_view s) noexcept {
  return b.size() == s.size() && std::equal(s.begin(), s.end(), b.begin(), [](char a, uint8_t c) {
           return static_cast<uint8_t>(a) == c;
         });
}

/// Parses "<len>:" at `pos`: the length and where the bytes start. Lengths are capped at
/// nine digits, far beyond any datagram or segment, so the arithmetic cannot overflow.
std::optional<std::pair<size_t, size_t>> string_header(Bytes in, size_t pos) noexcept {
  size_t len = 0;
  size_t i = pos;
  while (i < in.size() && is_digit(in[i]) && i - pos < 9) {
    len = len * 10 + (in[i] - '0');
    ++i;
  }
  if (i == pos || i >= in.size() || in[i] != ':') {
    return std::nullopt;
  }
  return std::make_pair(len, i + 1);
}

}  // namespace

std::optional<String> string_at(Bytes in, size_t pos) noexcept {
  const auto h = string_header(in, pos);
  if (!h || h->first > in.size() - h->second) {
    return std::nullopt;
  }
  return String{in.subspan(h->second, h->first), h->second + h->first};
}

std::optional<size_t> skip(Bytes in, size_t pos, int depth) noexcept {
  if (pos >= in.size() || depth > kMaxDepth) {
    return std::nullopt;
  }
  const uint8_t c = in[pos];
  if (c == 'i') {
    size_t i = pos + 1;
    if (i < in.size() && in[i] == '-') {
      ++i;
    }
    const size_t digits = i;
    while (i < in.size() && is_digit(in[i]) && i - digits < 20) {
      ++i;
    }
    if (i == digits || i >= in.size() || in[i] != 'e') {
      return std::nullopt;
    }
    return i + 1;
  }
  if (is_digit(c)) {
    const auto s = string_at(in, pos);
    return s ? std::optional<size_t>(s->end) : std::nullopt;
  }
  if (c == 'l' || c == 'd') {
    size_t i = pos + 1;
    while (i < in.size() && in[i] != 'e') {
      if (c == 'd') {
        const auto key = string_at(in, i);
        if (!key) {
          return std::nullopt;
        }
        i = key->end;
      }
      const auto end = skip(in, i, depth + 1);
      if (!end) {
        return std::nullopt;
      }
      i = *end;
    }
    if (i >= in.size()) {
      return std::nullopt;
    }
    return i + 1;
  }
  return std::nullopt;
}

std::optional<Bytes> find(Bytes in, size_t pos, std::string_view key) noexcept {
  if (pos >= in.size() || in[pos] != 'd') {
    return std::nullopt;
  }
  size_t i = pos + 1;
  while (i < in.size() && in[i] != 'e') {
    const auto k = string_at(in, i);
    if (!k) {
      return std::nullopt;
    }
    const auto end = skip(in, k->end, 1);
    if (!end) {
      return std::nullopt;
    }
    if (equals(k->value, key)) {
      return in.subspan(k->end, *end - k->end);
    }
    i = *end;
  }
  return std::nullopt;
}

std::optional<Bytes> find_string(Bytes in, size_t pos, std::string_view key) noexcept {
  const auto v = find(in, pos, key);
  if (!v) {
    return std::nullopt;
  }
  const auto s = string_at(*v, 0);
  if (!s || s->end != v->size()) {
    return std::nullopt;
  }
  return s->value;
}

std::optional<Bytes> find_string_prefix(Bytes in, size_t pos, std::string_view key) noexcept {
  if (pos >= in.size() || in[pos] != 'd') {
    return std::nullopt;
  }
  size_t i = pos + 1;
  while (i < in.size() && in[i] != 'e') {
    const auto k = string_at(in, i);
    if (!k) {
      return std::nullopt;
    }
    if (equals(k->value, key)) {
      const auto h = string_header(in, k->end);
      if (!h) {
        return std::nullopt;
      }
      const size_t avail = in.size() - h->second;
      return in.subspan(h->second, std::min(h->first, avail));
    }
    const auto end = skip(in, k->end, 1);
    if (!end) {
      return std::nullopt;
    }
    i = *end;
  }
  return std::nullopt;
}

}  // namespace imguard::classifiers::bencode
