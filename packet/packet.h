// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <variant>

#include "packet/address.h"
#include "packet/anomaly.h"

namespace imguard::packet {

/// Time as microseconds since the Unix epoch (pcap timestamps, NFQUEUE receive time).
using Timestamp = std::chrono::microseconds;

enum class L4 : uint8_t { kTcp = 6, kUdp = 17 };

/// TCP flag bits as on the wire (byte 13 of the TCP header).
namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
}  // namespace tcp_flag

/// One parsed TCP or UDP packet. A view: it points into the caller's buffer, which must
/// outlive it. `l3` starts at the IP header (what nDPI wants); `payload` is the L4 payload,
/// clipped to what was captured.
struct PacketView {
  Timestamp ts{};
  Address src;
  Address dst;
  uint16_t sport = 0;
  uint16_t dport = 0;
  L4 l4 = L4::kTcp;
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  /// Length of the IP packet as it was on the wire (IP total length), for byte counters.
  uint32_t wire_length = 0;
  std::span<const uint8_t> l3;
  std::span<const uint8_t> payload;

  bool has_flag(uint8_t flag) const noexcept { return (tcp_flags & flag) != 0; }
};

/// Parses an IPv4 or IPv6 packet (IPv6 extension headers are walked) down to TCP or UDP.
/// Never throws and never reads outside `l3`. Returns the anomaly when the packet can't
/// become a flow packet; fragments are reported, not reassembled (the kernel defragments
/// before conntrack/NFQUEUE; offline captures rarely need it for classification).
std::variant<PacketView, Anomaly> parse_ip(std::span<const uint8_t> l3, Timestamp ts) noexcept;

}  // namespace imguard::packet
