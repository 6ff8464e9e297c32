// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/json.h"

#include <cstdint>

namespace imguard::engine {
namespace {

/// Length of the well-formed UTF-8 sequence starting at s[i], 0 if there is none. Follows
/// RFC 3629 section 4 (no overlong forms, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i) noexcept {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    return 1;
  }
  size_t len = 0;
  uint8_t lo = 0x80;  // allowed range of the second byte
  uint8_t hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    lo = b0 == 0xe0 ? 0xa0 : 0x80;  // overlong
    hi = b0 == 0xed ? 0x9f : 0xbf;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    lo = b0 == 0xf0 ? 0x90 : 0x80;  // overlong
    hi = b0 == 0xf4 ? 0x8f : 0xbf;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) {
    return 0;
  }
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) {
      return 0;
    }
  }
  return len;
}

void append_hex_byte(std::string& out, uint8_t b) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

}  // namespace

std::string json_dump(const Json& value) {
  // ensure_ascii=false keeps UTF-8 as is (and the golden bytes as they were); replace
  // turns ill-formed UTF-8 into U+FFFD instead of throwing type_error 316.
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void json_write_line(std::FILE* out, const Json& value) {
  std::string line = json_dump(value);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), out);
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8_sequence(s, i);
    if (len == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  return out;
}

std::string terminal_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    const size_t len = utf8_sequence(s, i);
    // C1 controls are U+0080..U+009F, encoded C2 80..C2 9F; a terminal may act on them.
    const bool c1 = len == 2 && b == 0xc2 && static_cast<uint8_t>(s[i + 1]) <= 0x9f;
    if (len == 0 || b < 0x20 || b == 0x7f || c1) {
      const size_t n = len == 0 ? 1 : len;
      for (size_t k = 0; k < n; ++k) {
        append_hex_byte(out, static_cast<uint8_t>(s[i + k]));
      }
      i += n;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  return out;
}

}  // namespace imguard::engine
