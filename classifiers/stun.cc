// SPDX-License-Identifier: GPL-3.0-or-later
// STUN framing (RFC 8489 5/14): type with the two top bits zero, length a multiple of 4
// equal to the rest of the datagram, magic cookie 0x2112A442, then type-length-value
// attributes padded to 4 bytes. Application evidence in the attributes:
//  - Microsoft's published [MS-TURN] and [MS-ICE2] extensions used by Teams and Skype:
//    MS-VERSION 0x8008, MS-SEQUENCE-NUMBER 0x8050, CANDIDATE-IDENTIFIER 0x8054,
//    MS-SERVICE-QUALITY 0x8055, MS-IMPLEMENTATION-VERSION 0x8070;
//  - SOFTWARE (0x8022) matched against `stun-software` lines of the signature data;
//  - WhatsApp's relay dialect: the keepalive ping/pong message types 0x0801/0x0802 (and
//    their neighbours 0x0800-0x0805: methods 0x200-0x205, which IANA has not assigned), or
//    a TURN Allocate (request, success or error response) carrying an attribute of the
//    0x4000-0x40FF block, where WhatsApp puts its protobuf relay token; IANA has assigned
//    no attribute there, and generic TURN clients and servers send none;
//  - cross-flow: plain STUN/TURN from a client to an address where that client reached an
//    app's `call_relay` host over TLS (signatures.conf: Signal's *.voip.signal.org relays,
//    whose TLS ClientHello names them). Only the client that made the TLS connection, only
//    that address, only for the PeerCache's TTL; answered as cross_flow, so the flow's own
//    DPI evidence still wins.
// Evidence: pcaps/stun/ (synthetic WhatsApp and Teams relays; coturn's own Allocate and
// binding, and plain ICE checks, as look-alikes). False positives: none known; generic
// STUN and TURN (a WebRTC ICE check, pcaps/stun/stun-plain-binding.pcap; coturn's
// turnutils_uclient, pcaps/stun/coturn-turn-lookalike.pcap) are not matched here.
#include "classifiers/stun.h"

#include "classifiers/im_text.h"
#include "classifiers/peer_cache.h"
#include "packet/bytes.h"

namespace imguard::classifiers {
namespace {

constexpr size_t kHeader = 20;
constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr uint16_t kAttrSoftware = 0x8022;
constexpr uint16_t kMsAttributes[] = {0x8008, 0x8050, 0x8054, 0x8055, 0x8070};
constexpr uint8_t kMaxStunPackets = 4;
// WhatsApp relay message types (keepalive ping 0x0801, pong 0x0802, and the rest of the
// unassigned method block 0x200-0x205 in the request class the relay uses).
constexpr uint16_t kWhatsappFirstType = 0x0800;
constexpr uint16_t kWhatsappLastType = 0x0805;
// TURN Allocate request, success and error response (RFC 8656 method 0x003).
constexpr uint16_t kAllocateTypes[] = {0x0003, 0x0103, 0x0113};
constexpr uint16_t kWhatsappFirstAttr = 0x4000;
constexpr uint16_t kWhatsappLastAttr = 0x40ff;

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

Result Stun::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                     FlowSlot slot) noexcept {
  auto& s = slot.as<StunSlot>();
  const auto& p = pkt.payload;
  if (!is_stun(p)) {
    // Media follows the ICE checks on the same 5-tuple; give up once it does.
    return NotMine{};
  }
  const uint16_t msg_type = be16(p, 0);
  if (msg_type >= kWhatsappFirstType && msg_type <= kWhatsappLastType) {
    return Match{.app = AppId::kWhatsapp, .evidence = Evidence::kDpi};
  }
  bool allocate = false;
  for (uint16_t t : kAllocateTypes) {
    allocate = allocate || msg_type == t;
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
    if (allocate && type >= kWhatsappFirstAttr && type <= kWhatsappLastAttr) {
      return Match{.app = AppId::kWhatsapp, .evidence = Evidence::kDpi};
    }
    if (type == kAttrSoftware) {
      if (auto app = sigs_->app_for_stun_software(as_text(p.subspan(at + 4, len)))) {
        return Match{.app = *app, .evidence = Evidence::kDpi};
      }
    }
    at += 4 + ((len + 3) & ~size_t{3});
  }
  if (ctx.peers != nullptr) {
    const bool c2s = ctx.direction == Direction::kClientToServer;
    if (auto app =
            call_relay_app(*ctx.peers, c2s ? pkt.src : pkt.dst, c2s ? pkt.dst : pkt.src, pkt.ts)) {
      return Match{.app = *app, .evidence = Evidence::kCrossFlow};
    }
  }
  return ++s.seen < kMaxStunPackets ? Result{NeedMore{}} : Result{NotMine{}};
}

}  // namespace imguard::classifiers
