// SPDX-License-Identifier: GPL-3.0-or-later
// STUN framing (RFC 8489 5/14): type with the two top bits zero, length a multiple of 4
// equal to the rest of the datagram, magic cookie 0x2112A442, then type-length-value
// attributes padded to 4 bytes. Application evidence in the attributes:
//  - Microsoft's published [MS-TURN] and [MS-ICE2] extensions used by Teams and Skype:
//    MS-VERSION 0x8008, MS-SEQUENCE-NUMBER 0x8050, CANDIDATE-IDENTIFIER 0x8054,
//    MS-SERVICE-QUALITY 0x8055, MS-IMPLEMENTATION-VERSION 0x8070;
//  - SOFTWARE (0x8022) matched against `stun-software` lines of the signature data.
// Evidence: pcaps/stun/ (synthetic). False positives: none known; generic STUN (e.g. a
// WebRTC ICE check, pcaps/stun/stun-plain-binding.pcap) is not matched here.
#include "classifiers/stun.h"

#include "classifiers/im_text.h"
#include "packet/bytes.h"

namespace imguard::classifiers {
namespace {

constexpr size_t kHeader = 20;
constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr uint16_t kAttrSoftware = 0x8022;
constexpr uint16_t kMsAttributes[] = {0x8008, 0x8050, 0x8054, 0x8055, 0x8070};
constexpr uint8_t kMaxStunPackets = 4;

struct StunSlot {
  uint8_t seen;
};

using packet::be16;

bool is_stun(std::span<const uint8_t> p) noexcept {
  if (p.size() < kHeader || (p[0] & 0xc0) != 0) {
    return false;
  }
  const size_t len = be16(p, 2);
  const uint32_t cookie =
      (uint32_t{p[4]} << 24) | (uint32_t{p[5]} << 16) | (uint32_t{p[6]} << 8) | p[7];
  return cookie == kMagicCookie && (len & 3) == 0 && kHeader + len == p.size();
}

}  // namespace

Interest Stun::interest() const noexcept {
  return Interest{
      .tcp = false, .udp = true, .needs_payload = true, .state_bytes = sizeof(StunSlot)};
}

Result Stun::inspect(const packet::PacketView& pkt, const FlowContext& /*ctx*/,
                     FlowSlot slot) noexcept {
  auto& s = slot.as<StunSlot>();
  const auto& p = pkt.payload;
  if (!is_stun(p)) {
    // Media follows the ICE checks on the same 5-tuple; give up once it does.
    return NotMine{};
  }
  size_t at = kHeader;
  while (p.size() - at >= 4) {
    const uint16_t type = be16(p, at);
    const size_t len = be16(p, at + 2);
    if (p.size() - at - 4 < len) {
      break;
    }
    for (uint16_t ms : kMsAttributes) {
      if (type == ms) {
        return Match{.app = AppId::kSkypeTeams, .evidence = Evidence::kDpi};
      }
    }
    if (type == kAttrSoftware) {
      if (auto app = sigs_->app_for_stun_software(as_text(p.subspan(at + 4, len)))) {
        return Match{.app = *app, .evidence = Evidence::kDpi};
      }
    }
    at += 4 + ((len + 3) & ~size_t{3});
  }
  return ++s.seen < kMaxStunPackets ? Result{NeedMore{}} : Result{NotMine{}};
}

}  // namespace imguard::classifiers
