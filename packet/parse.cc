// SPDX-License-Identifier: GPL-3.0-or-later
#include <cstring>

#include "packet/bytes.h"
#include "packet/packet.h"

namespace imguard::packet {
namespace {

constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kTcpMinHeader = 20;
constexpr size_t kUdpHeader = 8;

constexpr uint8_t kProtoHopByHop = 0;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoAuthHeader = 51;
constexpr uint8_t kProtoDestOptions = 60;
constexpr uint8_t kProtoMobility = 135;

/// Fills the L4 part of `pkt` from `l4` (bytes after the IP headers, clipped to capture).
/// `l4_wire_len` is what the IP header says the L4 segment is.
std::variant<PacketView, Anomaly> parse_l4(PacketView pkt, uint8_t proto,
                                           std::span<const uint8_t> l4) noexcept {
  if (proto == kProtoTcp) {
    if (l4.size() < kTcpMinHeader) {
      return Anomaly::kTruncatedTcp;
    }
    const size_t offset = size_t{static_cast<uint8_t>(l4[12] >> 4)} * 4;
    if (offset < kTcpMinHeader) {
      return Anomaly::kBadTcpDataOffset;
    }
    if (offset > l4.size()) {
      return Anomaly::kTruncatedTcp;
    }
    pkt.l4 = L4::kTcp;
    pkt.sport = be16(l4, 0);
    pkt.dport = be16(l4, 2);
    pkt.tcp_seq = be32(l4, 4);
    pkt.tcp_flags = l4[13];
    pkt.payload = l4.subspan(offset);
    return pkt;
  }
  if (proto == kProtoUdp) {
    if (l4.size() < kUdpHeader) {
      return Anomaly::kTruncatedUdp;
    }
    const size_t udp_len = be16(l4, 4);
    if (udp_len < kUdpHeader) {
      return Anomaly::kBadUdpLength;
    }
    pkt.l4 = L4::kUdp;
    pkt.sport = be16(l4, 0);
    pkt.dport = be16(l4, 2);
    // Trust the smaller of the UDP length and what we hold (Ethernet padding, snaplen).
    pkt.payload = l4.subspan(kUdpHeader, std::min(udp_len, l4.size()) - kUdpHeader);
    return pkt;
  }
  return Anomaly::kNotTcpUdp;
}

std::variant<PacketView, Anomaly> parse_ipv4(std::span<const uint8_t> l3, Timestamp ts) noexcept {
  if (l3.size() < kIpv4MinHeader) {
    return Anomaly::kTruncatedIpv4;
  }
  const size_t ihl = size_t{static_cast<uint8_t>(l3[0] & 0x0f)} * 4;
  if (ihl < kIpv4MinHeader) {
    return Anomaly::kBadIpv4HeaderLength;
  }
  if (ihl > l3.size()) {
    return Anomaly::kTruncatedIpv4;
  }
  const size_t total = be16(l3, 2);
  // Total length 0 appears with TSO on captures taken at the sender; use what we hold.
  const size_t wire = total == 0 ? l3.size() : total;
  if (wire < ihl) {
    return Anomaly::kBadIpv4TotalLength;
  }
  const uint16_t frag = be16(l3, 6);
  if ((frag & 0x3fff) != 0) {  // MF set or a non-zero offset
    return Anomaly::kIpv4Fragment;
  }
  PacketView pkt;
  pkt.ts = ts;
  pkt.src = Address::v4(&l3[12]);
  pkt.dst = Address::v4(&l3[16]);
  pkt.wire_length = static_cast<uint32_t>(wire);
  const size_t held = std::min(wire, l3.size());
  pkt.l3 = l3.first(held);
  return parse_l4(pkt, l3[9], l3.subspan(ihl, held - ihl));
}

std::variant<PacketView, Anomaly> parse_ipv6(std::span<const uint8_t> l3, Timestamp ts) noexcept {
  if (l3.size() < kIpv6Header) {
    return Anomaly::kTruncatedIpv6;
  }
  const size_t payload_len = be16(l3, 4);
  // Payload length 0 means a jumbogram or a TSO capture; use what we hold.
  const size_t wire = payload_len == 0 ? l3.size() : kIpv6Header + payload_len;
  const size_t held = std::min(wire, l3.size());
  PacketView pkt;
  pkt.ts = ts;
  pkt.src = Address::v6(&l3[8]);
  pkt.dst = Address::v6(&l3[24]);
  pkt.wire_length = static_cast<uint32_t>(wire);
  pkt.l3 = l3.first(held);

  uint8_t next = l3[6];
  size_t off = kIpv6Header;
  // RFC 8200 puts no limit on the chain, and a cap would be an evasion: a connection that
  // wraps its packets in more headers than the cap would never be classified. Every header
  // is at least 8 bytes and each step moves forward, so the walk is bounded by the packet.
  for (;;) {
    switch (next) {
      case kProtoHopByHop:
      case kProtoRouting:
      case kProtoDestOptions:
      case kProtoMobility:
      case kProtoAuthHeader: {
        if (off + 2 > held) {
          return Anomaly::kTruncatedIpv6ExtensionHeader;
        }
        // AH counts its length in 4-byte units minus 2; the others in 8-byte units minus 1.
        const size_t len = next == kProtoAuthHeader ? (size_t{l3[off + 1]} + 2) * 4
                                                    : (size_t{l3[off + 1]} + 1) * 8;
        if (off + len > held) {
          return Anomaly::kTruncatedIpv6ExtensionHeader;
        }
        next = l3[off];
        off += len;
        break;
      }
      case kProtoFragment:
        return Anomaly::kIpv6Fragment;
      default:
        return parse_l4(pkt, next, l3.subspan(off, held - off));
    }
  }
}

}  // namespace

std::variant<PacketView, Anomaly> parse_ip(std::span<const uint8_t> l3, Timestamp ts) noexcept {
  if (l3.empty()) {
    return Anomaly::kEmpty;
  }
  switch (l3[0] >> 4) {
    case 4:
      return parse_ipv4(l3, ts);
    case 6:
      return parse_ipv6(l3, ts);
    default:
      return Anomaly::kUnknownIpVersion;
  }
}

}  // namespace imguard::packet
