// SPDX-License-Identifier: GPL-3.0-or-later
// TLS ClientHello walker (RFC 8446 section 4.1.2; extensions RFC 6066 server_name, RFC 7301
// ALPN). Bounds are checked on every field; a length running past the buffer means
// "incomplete" only while the outer handshake length says more bytes are still to come.
#include "classifiers/tls_client_hello.h"

#include "packet/bytes.h"

namespace imguard::classifiers {
namespace {

constexpr uint8_t kHandshakeClientHello = 1;
constexpr uint8_t kContentHandshake = 22;
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtAlpn = 16;
constexpr size_t kRandomBytes = 32;

using Reader = packet::ByteReader;

std::string_view as_text(std::span<const uint8_t> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool parse_sni(std::span<const uint8_t> ext, ClientHelloInfo& out) noexcept {
  Reader r(ext);
  size_t list = 0;
  if (!r.u16(list) || list > r.left()) {
    return false;
  }
  while (r.left() >= 3) {
    size_t type = 0;
    size_t len = 0;
    std::span<const uint8_t> name;
    if (!r.u8(type) || !r.u16(len) || !r.sub(len, name)) {
      return false;
    }
    if (type == 0 && out.sni.empty()) {
      out.sni = as_text(name);
    }
  }
  return true;
}

bool parse_alpn(std::span<const uint8_t> ext, ClientHelloInfo& out) noexcept {
  Reader r(ext);
  size_t list = 0;
  if (!r.u16(list) || list > r.left()) {
    return false;
  }
  while (r.left() >= 1) {
    size_t len = 0;
    std::span<const uint8_t> id;
    if (!r.u8(len) || len == 0 || !r.sub(len, id)) {
      return false;
    }
    if (out.alpn_count < out.alpn.size()) {
      out.alpn[out.alpn_count++] = as_text(id);
    }
  }
  return true;
}

}  // namespace

HelloParse parse_client_hello(std::span<const uint8_t> msg, ClientHelloInfo& out) noexcept {
  out = ClientHelloInfo{};
  Reader h(msg);
  size_t type = 0;
  size_t length = 0;
  if (!h.u8(type) || type != kHandshakeClientHello) {
    return HelloParse::kInvalid;
  }
  if (!h.u24(length)) {
    return HelloParse::kIncomplete;
  }
  const bool complete = h.left() >= length;
  Reader r(msg.subspan(4, complete ? length : h.left()));
  const HelloParse short_read = complete ? HelloParse::kInvalid : HelloParse::kIncomplete;
  size_t major = 0;
  size_t minor = 0;
  size_t n = 0;
  if (!r.u8(major) || !r.u8(minor)) {
    return short_read;
  }
  if (major != 3 || minor > 4) {
    return HelloParse::kInvalid;
  }
  if (!r.skip(kRandomBytes) || !r.u8(n) || n > 32 || !r.skip(n)) {
    return short_read;  // random, legacy_session_id
  }
  if (!r.u16(n) || n < 2 || (n & 1) != 0 || !r.skip(n)) {
    return n != 0 && (n & 1) != 0 ? HelloParse::kInvalid : short_read;  // cipher_suites
  }
  if (!r.u8(n) || n < 1 || !r.skip(n)) {
    return short_read;  // legacy_compression_methods
  }
  if (r.left() == 0) {
    return complete ? HelloParse::kOk : HelloParse::kIncomplete;  // no extensions at all
  }
  size_t ext_total = 0;
  if (!r.u16(ext_total)) {
    return short_read;
  }
  if (complete && ext_total != r.left()) {
    return HelloParse::kInvalid;
  }
  while (r.left() >= 4) {
    size_t ext_type = 0;
    size_t ext_len = 0;
    std::span<const uint8_t> body;
    r.u16(ext_type);
    r.u16(ext_len);
    if (!r.sub(ext_len, body)) {
      return short_read;
    }
    if (ext_type == kExtServerName && !parse_sni(body, out)) {
      return HelloParse::kInvalid;
    }
    if (ext_type == kExtAlpn && !parse_alpn(body, out)) {
      return HelloParse::kInvalid;
    }
  }
  if (r.left() != 0) {
    return short_read;
  }
  return complete ? HelloParse::kOk : HelloParse::kIncomplete;
}

size_t tls_handshake_record_length(std::span<const uint8_t> payload) noexcept {
  if (payload.size() < 5 || payload[0] != kContentHandshake || payload[1] != 3 || payload[2] > 4) {
    return 0;
  }
  return (size_t{payload[3]} << 8) | payload[4];
}

}  // namespace imguard::classifiers
