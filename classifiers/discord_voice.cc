// SPDX-License-Identifier: GPL-3.0-or-later
// Discord voice IP discovery (Discord developer documentation, "Voice Connections: IP
// Discovery"): a 74-byte datagram of type (2 bytes, 1 = request, 2 = response), length
// (2 bytes, always 70), SSRC (4), address (64, NUL-terminated text) and port (2). The
// request's address and port are zero; the response carries the client's public address
// as text. Evidence: pcaps/discord_voice/ (synthetic). False positives: none known; random
// 74-byte datagrams (pcaps/discord_voice/random-74-byte-udp.pcap) fail the field checks.
#include "classifiers/discord_voice.h"

#include <algorithm>

namespace imguard::classifiers {
namespace {

constexpr size_t kPacketSize = 74;
constexpr uint16_t kBodyLength = 70;
constexpr size_t kAddressAt = 8;
constexpr size_t kAddressSize = 64;
constexpr uint32_t kWaitPackets = 2;

bool is_address_text(std::span<const uint8_t> a) noexcept {
  const auto nul = std::find(a.begin(), a.end(), uint8_t{0});
  if (nul == a.begin() || nul == a.end() ||
      !std::all_of(nul, a.end(), [](uint8_t c) { return c == 0; })) {
    return false;
  }
  return std::all_of(a.begin(), nul, [](uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
           c == ':';
  });
}

bool is_ip_discovery(std::span<const uint8_t> p) noexcept {
  if (p.size() != kPacketSize || p[0] != 0 || (p[1] != 1 && p[1] != 2) ||
      ((p[2] << 8) | p[3]) != kBodyLength) {
    return false;
  }
  const auto addr = p.subspan(kAddressAt, kAddressSize);
  if (p[1] == 1) {
    return std::all_of(addr.begin(), addr.end(), [](uint8_t c) { return c == 0; });
  }
  return is_address_text(addr) && (p[72] != 0 || p[73] != 0);
}

}  // namespace

Result DiscordVoice::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                             FlowSlot /*slot*/) noexcept {
  if (is_ip_discovery(pkt.payload)) {
    return Match{.app = AppId::kDiscord, .evidence = Evidence::kDpi};
  }
  return ctx.payload_packets[0] + ctx.payload_packets[1] < kWaitPackets ? Result{NeedMore{}}
                                                                        : Result{NotMine{}};
}

}  // namespace imguard::classifiers
