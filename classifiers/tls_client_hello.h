// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace imguard::classifiers {

/// What an IM classifier wants from a TLS ClientHello. Views point into the parsed buffer.
struct ClientHelloInfo {
  static constexpr size_t kMaxAlpn = 8;
  std::string_view sni;  // host_name of the server_name extension (RFC 6066), or empty
  std::array<std::string_view, kMaxAlpn> alpn{};  // offered ALPN ids (RFC 7301), in order
  size_t alpn_count = 0;
};

enum class HelloParse : uint8_t {
  kOk,          // a complete ClientHello was parsed
  kIncomplete,  // a plausible ClientHello that continues past the buffer
  kInvalid,     // not a ClientHello
};

/// Parses a TLS handshake message that must be a ClientHello (starting at its 4-byte
/// handshake header, as carried in a TLS record or a QUIC CRYPTO frame). Never reads
/// outside `msg`; allocation-free.
HelloParse parse_client_hello(std::span<const uint8_t> msg, ClientHelloInfo& out) noexcept;

/// Length of the TLS record that starts `payload` if it looks like a handshake record
/// (content type 22, version 3.x), else 0.
size_t tls_handshake_record_length(std::span<const uint8_t> payload) noexcept;

}  // namespace imguard::classifiers
