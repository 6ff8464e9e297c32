// SPDX-License-Identifier: GPL-3.0-or-later
// BitTorrent peer wire (BEP 3): each side opens with the byte 19 and the 19-character
// protocol string, 8 reserved bytes, the 20-byte info-hash and (usually) the peer id.
// Evidence: pcaps/bittorrent/transmission-tcp-random-port.pcap.
// False positives: none known; the 20-byte prefix is specific.
#include "classifiers/bittorrent.h"

#include <algorithm>
#include <string_view>

namespace imguard::classifiers {
namespace {

constexpr std::string_view kProtocolString = "BitTorrent protocol";
constexpr size_t kHandshakePrefix = 1 + kProtocolString.size();

bool starts_with_handshake(std::span<const uint8_t> p) noexcept {
  if (p.size() < kHandshakePrefix || p[0] != kProtocolString.size()) {
    return false;
  }
  return std::equal(kProtocolString.begin(), kProtocolString.end(), p.begin() + 1,
                    [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; });
}

}  // namespace

Interest Bittorrent::interest() const noexcept {
  return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = 0};
}

Result Bittorrent::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                           FlowSlot /*slot*/) noexcept {
  const auto& p = pkt.payload;
  if (starts_with_handshake(p)) {
    return Match{
        .app = AppId::kBittorrent, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};
  }
  // A short first segment may still be the start of the handshake.
  if (!p.empty() && p.size() < kHandshakePrefix && p[0] == kProtocolString.size() &&
      ctx.payload_packets[static_cast<size_t>(ctx.direction)] == 1) {
    return NeedMore{};
  }
  return NotMine{};
}

}  // namespace imguard::classifiers
