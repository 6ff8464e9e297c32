// SPDX-License-Identifier: GPL-3.0-or-later
// Signature: a UDP datagram of [16-byte peer tag][12 x 0xFF][4-byte code], where the tag
// is the call's (neither all 0x00 nor all 0xFF) and the code is one of
//  - FE FF FF FF, then an 8-byte value, 40 bytes in all: tgcalls' reflector hello
//    (ReflectorPort::SendReflectorHello), repeated until the reflector answers;
//  - a little-endian TL id of the reflector's answers (libtgvoip: UDP_REFLECTOR_PEER_INFO
//    0x27D9371C and its IPv6 form 0x83FC73B1, UDP_REFLECTOR_SELF_INFO 0xC01572C7,
//    UDP_REFLECTOR_LAST_PACKETS_INFO 0x0E107305), at least 36 bytes;
//  - FF FF FF FF, 32 bytes in all: libtgvoip's public-endpoints request. Sixteen 0xFF
//    bytes after sixteen others is the weakest of the three shapes, so it decides nothing
//    itself: the flow is Telegram once the reflector answers with one of the codes above.
// Evidence: pcaps/telegram_call/ (synthetic, from the two libraries' sources). Look-alikes
// (pcaps/telegram_call/reflector-lookalikes.pcap): a Wake-on-LAN magic packet and other
// 0xFF-padded datagrams, an all-0xFF datagram, an unknown code after the 0xFF run, an
// endpoints-request shape that is never answered. False positives: none known.
// Not covered: calls between two clients directly (WebRTC ICE/DTLS-SRTP, plain STUN) and
// group calls (WebRTC to Telegram's SFUs); see classifiers/README.md.
#include "classifiers/telegram_call.h"

#include <algorithm>

namespace imguard::classifiers {
namespace {

constexpr size_t kTag = 16;
constexpr size_t kRun = 12;
constexpr size_t kCodeAt = kTag + kRun;
constexpr size_t kRequestSize = 32;
constexpr size_t kHelloSize = 40;
constexpr size_t kMinAnswerSize = 36;
constexpr uint32_t kRequestCode = 0xffffffff;
constexpr uint32_t kHelloCode = 0xfffffffe;  // bytes FE FF FF FF, read little-endian
constexpr uint32_t kAnswerCodes[] = {0x27d9371c, 0x83fc73b1, 0xc01572c7, 0x0e107305};
/// Datagrams looked at before giving up: a reflector answers within a round trip, and
/// libtgvoip resends its request only every 5 s.
constexpr uint8_t kMaxPackets = 6;

enum class Shape : uint8_t { kNone, kRequest, kDecisive };

uint32_t le32(std::span<const uint8_t> p, size_t at) noexcept {
  return uint32_t{p[at]} | (uint32_t{p[at + 1]} << 8) | (uint32_t{p[at + 2]} << 16) |
         (uint32_t{p[at + 3]} << 24);
}

Shape shape_of(std::span<const uint8_t> p) noexcept {
  if (p.size() < kRequestSize) {
    return Shape::kNone;
  }
  const auto tag = p.first(kTag);
  const bool flat = std::all_of(tag.begin(), tag.end(), [&](uint8_t b) { return b == tag[0]; });
  if (flat && (tag[0] == 0x00 || tag[0] == 0xff)) {
    return Shape::kNone;
  }
  const auto run = p.subspan(kTag, kRun);
  if (!std::all_of(run.begin(), run.end(), [](uint8_t b) { return b == 0xff; })) {
    return Shape::kNone;
  }
  const uint32_t code = le32(p, kCodeAt);
  if (code == kRequestCode) {
    return p.size() == kRequestSize ? Shape::kRequest : Shape::kNone;
  }
  if (code == kHelloCode) {
    return p.size() == kHelloSize ? Shape::kDecisive : Shape::kNone;
  }
  const bool answer =
      std::find(std::begin(kAnswerCodes), std::end(kAnswerCodes), code) != std::end(kAnswerCodes);
  return answer && p.size() >= kMinAnswerSize ? Shape::kDecisive : Shape::kNone;
}

}  // namespace

Interest TelegramCall::interest() const noexcept {
  return Interest{.tcp = false, .udp = true, .needs_payload = true, .state_bytes = 0};
}

Result TelegramCall::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                             FlowSlot /*slot*/) noexcept {
  switch (shape_of(pkt.payload)) {
    case Shape::kDecisive:
      return Match{.app = AppId::kTelegram, .evidence = Evidence::kDpi};
    case Shape::kRequest:
      break;
    case Shape::kNone:
      // A reflector flow opens with its signalling. Called again only after a request
      // (every other first packet was NotMine), so this waits for the answer.
      if (ctx.packet_index == 0) {
        return NotMine{};
      }
      break;
  }
  return ctx.packet_index + 1 < kMaxPackets ? Result{NeedMore{}} : Result{NotMine{}};
}

}  // namespace imguard::classifiers
