// SPDX-License-Identifier: GPL-3.0-or-later
// Gnutella. Signatures: "GNUTELLA CONNECT/" and "GNUTELLA/0.6 " handshakes (Gnutella 0.6
// RFC draft), "GIV " pushes, "/uri-res/N2R?urn:" requests (HUGE); UDP messages whose header
// length matches the datagram, and GND fragment headers.
// Evidence: pcaps/gnutella/handshake-query.pcap (synthetic; no Gnutella client in Debian).
// False positives: none known; the UDP header rule needs an exact 32-bit length match.
#include "classifiers/gnutella.h"

#include <algorithm>

#include "classifiers/p2p_text.h"

namespace imguard::classifiers {
namespace {

using p2p::Bytes;

constexpr size_t kHeader = 23;  // GUID 16, type, TTL, hops, payload length 4
constexpr uint8_t kMaxTtlPlusHops = 16;
constexpr size_t kServentIdHex = 32;
// A query or hit split over more fragments than this does not fit a UDP message budget.
constexpr uint8_t kMaxGndParts = 32;

constexpr Match kServing{.app = AppId::kGnutella,
                         .evidence = Evidence::kDpi,
                         .features = kFeatureFileTransfer | kFeaturePeer};
constexpr Match kSignalling{
    .app = AppId::kGnutella, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};

bool is_payload_type(uint8_t t) noexcept {
  // Ping, Pong, Bye, vendor messages (0x31, 0x32), Push, Query, Query Hit.
  return t == 0x00 || t == 0x01 || t == 0x02 || t == 0x31 || t == 0x32 || t == 0x40 || t == 0x80 ||
         t == 0x81;
}

bool is_udp_message(Bytes p) noexcept {
  if (p.size() < kHeader || !is_payload_type(p[16])) {
    return false;
  }
  const uint32_t ttl_hops = uint32_t{p[17]} + p[18];
  return ttl_hops >= 1 && ttl_hops <= kMaxTtlPlusHops && p2p::le32(p, 19) == p.size() - kHeader;
}

bool is_gnd(Bytes p) noexcept {
  // "GND", flags, sequence (2), part number, part count; then the fragment.
  if (p.size() < 8 || !p2p::starts_with(p, "GND")) {
    return false;
  }
  // Flags: deflated, acknowledgement wanted, extended header; the high bits are reserved.
  if ((p[3] & 0xf0) != 0) {
    return false;
  }
  const uint8_t part = p[6];
  const uint8_t count = p[7];
  if (count > kMaxGndParts) {
    return false;
  }
  // count 0 marks an acknowledgement (no data).
  return count == 0 ? p.size() == 8 : part >= 1 && part <= count && p.size() > 8;
}

bool is_push_answer(Bytes p) noexcept {
  // "GIV <decimal index>:<32 hex>/<file name>\n\n"
  if (!p2p::starts_with(p, "GIV ")) {
    return false;
  }
  size_t i = 4;
  const size_t digits = i;
  while (i < p.size() && p[i] >= '0' && p[i] <= '9') {
    ++i;
  }
  if (i == digits || i >= p.size() || p[i] != ':' || p.size() < i + 1 + kServentIdHex + 1) {
    return false;
  }
  for (size_t k = i + 1; k < i + 1 + kServentIdHex; ++k) {
    const uint8_t c = p[k];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return p[i + 1 + kServentIdHex] == '/';
}

/// An "X-Gnutella-" header (e.g. X-Gnutella-Content-URN) in the HTTP header block.
bool has_gnutella_header(Bytes p) noexcept {
  constexpr std::string_view kEnd = "\r\n\r\n";
  constexpr std::string_view kMarker = "\r\nX-Gnutella-";
  const auto eq = [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); };
  const auto end = std::search(p.begin(), p.end(), kEnd.begin(), kEnd.end(), eq);
  return std::search(p.begin(), end, kMarker.begin(), kMarker.end(), eq) != end;
}

}  // namespace

Interest Gnutella::interest() const noexcept {
  return Interest{.tcp = true, .udp = true, .needs_payload = true, .state_bytes = 0};
}

Result Gnutella::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                         FlowSlot /*slot*/) noexcept {
  const Bytes p = pkt.payload;
  if (pkt.l4 == packet::L4::kUdp) {
    return is_udp_message(p) || is_gnd(p) ? Result{kSignalling} : Result{NotMine{}};
  }
  if (ctx.payload_packets[static_cast<size_t>(ctx.direction)] != 1) {
    return NotMine{};
  }
  const bool c2s = ctx.direction == Direction::kClientToServer;
  if (c2s) {
    if (p2p::starts_with(p, "GNUTELLA CONNECT/") || is_push_answer(p) ||
        p2p::starts_with(p, "GET /uri-res/N2R?urn:")) {
      return kServing;
    }
    if (!p2p::starts_with(p, "GET /") && !p2p::starts_with(p, "HEAD /")) {
      return NotMine{};
    }
    // A servent's HTTP file request or its answer carries X-Gnutella-* headers.
    return has_gnutella_header(p) ? Result{kServing} : Result{NeedMore{}};
  }
  if (p2p::starts_with(p, "GNUTELLA/0.6 ") || p2p::starts_with(p, "GNUTELLA OK") ||
      (p2p::starts_with(p, "HTTP/1.") && has_gnutella_header(p))) {
    return kServing;
  }
  return NotMine{};
}

}  // namespace imguard::classifiers
