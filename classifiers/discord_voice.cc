// SPDX-License-Identifier: GPL-3.0-or-later
// Discord voice IP discovery (Discord developer documentation, "Voice Connections: IP
// Discovery"): a 74-byte datagram of type (2 bytes, 1 = request, 2 = response), length
// (2 bytes, always 70), SSRC (4), address (64, NUL-terminated text) and port (2). The
// request's address and port are zero; the response carries the client's public address
// as text. Evidence: pcaps/discord_voice/ (synthetic).
// Look-alikes (pcaps/negative/game-udp.pcap, pcaps/discord_voice/random-74-byte-udp.pcap):
// game servers send 74-byte keepalives and probes that start 00 01 00 46 and are mostly
// zeros, i.e. a request by shape. What separates Discord is the exchange, not the shape:
// nothing is decided on the client's request; the server's first datagram must be the
// response, with an IPv4 or IPv6 address in text and a port (also when the capture starts
// with it). A request answered with anything else, or never answered, is not Discord.
// Mid-call ("Voice Connections: Transport Encryption Modes"): in the rtpsize AEAD and the
// xsalsa20_poly1305_lite modes every packet is the RTP header, the encrypted payload with
// its 16-byte tag, and the sender's nonce: a 32-bit big-endian counter incremented per
// packet (audio and video share it). Evidence: pcaps/discord_voice/mid-call.pcap
// (synthetic). Look-alikes: RTP/SRTP media (pcaps/negative/), RTP ending in a constant,
// a falling counter or a timestamp (pcaps/discord_voice/rtp-counter-lookalike.pcap).
#include "classifiers/discord_voice.h"

#include <algorithm>

#include "packet/bytes.h"

namespace imguard::classifiers {
namespace {

constexpr size_t kPacketSize = 74;
constexpr uint16_t kBodyLength = 70;
constexpr size_t kAddressAt = 8;
constexpr size_t kAddressSize = 64;
constexpr size_t kPortAt = 72;
// Client datagrams within which the server's response must come.
constexpr uint32_t kWaitPackets = 3;
// Mid-call media: RTP header, at least a tag, and the 4-byte nonce.
constexpr size_t kRtpHeader = 12;
constexpr size_t kMinMedia = kRtpHeader + 16 + 4;
constexpr uint8_t kDynamicTypeFirst = 96;
constexpr uint8_t kDynamicTypeLast = 127;
// Packets lost or sent in between (RTCP, another SSRC elsewhere) allowed per step.
constexpr uint32_t kMaxStep = 3;
// Steps of the nonce (either direction) that make a match, and breaks that end the try.
constexpr uint8_t kSteps = 3;
constexpr uint8_t kMaxBreaks = 3;

struct Side {
  uint32_t ssrc;
  uint32_t nonce;
  uint16_t seq;
  uint8_t have;
};

struct State {
  Side side[2];
  uint8_t media;   // RTP-shaped datagrams seen
  uint8_t steps;   // nonce steps of one to kMaxStep
  uint8_t breaks;  // nonce changes of anything else
};

/// Dotted-quad IPv4 (each part 0-255, no empty parts).
bool is_ipv4_text(std::string_view t) noexcept {
  int parts = 0;
  size_t i = 0;
  while (i <= t.size()) {
    size_t j = i;
    unsigned v = 0;
    while (j < t.size() && t[j] >= '0' && t[j] <= '9' && j - i < 3) {
      v = v * 10 + static_cast<unsigned>(t[j] - '0');
      ++j;
    }
    if (j == i || v > 255 || (j < t.size() && t[j] != '.')) {
      return false;
    }
    ++parts;
    i = j + 1;
    if (j == t.size()) {
      break;
    }
  }
  return parts == 4;
}

/// IPv6 text: hex groups and colons (at least two), at most one "::" run.
bool is_ipv6_text(std::string_view t) noexcept {
  if (t.size() < 2 || t.size() > 45 || std::count(t.begin(), t.end(), ':') < 2) {
    return false;
  }
  size_t group = 0;
  for (const char c : t) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (c == ':') {
      group = 0;
    } else if (hex) {
      if (++group > 4) {
        return false;
      }
    } else if (c != '.') {
      return false;  // '.' only for an embedded IPv4 tail
    }
  }
  return t.find("::") == t.rfind("::");
}

/// The response's address: text up to a NUL, NULs after it, and an IP literal.
bool is_address_text(std::span<const uint8_t> a) noexcept {
  const auto nul = std::find(a.begin(), a.end(), uint8_t{0});
  if (nul == a.begin() || nul == a.end() ||
      !std::all_of(nul, a.end(), [](uint8_t c) { return c == 0; })) {
    return false;
  }
  const std::string_view text(reinterpret_cast<const char*>(a.data()),
                              static_cast<size_t>(nul - a.begin()));
  return is_ipv4_text(text) || is_ipv6_text(text);
}

enum class Kind : uint8_t { kNone, kRequest, kResponse };

Kind discovery_kind(std::span<const uint8_t> p) noexcept {
  if (p.size() != kPacketSize || p[0] != 0 || (p[1] != 1 && p[1] != 2) ||
      packet::be16(p, 2) != kBodyLength) {
    return Kind::kNone;
  }
  const auto addr = p.subspan(kAddressAt, kAddressSize);
  if (p[1] == 1) {
    return std::all_of(addr.begin(), addr.end(), [](uint8_t c) { return c == 0; }) &&
                   packet::be16(p, kPortAt) == 0
               ? Kind::kRequest
               : Kind::kNone;
  }
  return is_address_text(addr) && packet::be16(p, kPortAt) != 0 ? Kind::kResponse : Kind::kNone;
}

/// RTP version 2 without CSRCs, of a dynamic payload type (Opus, video), long enough to
/// carry a tag and the nonce.
bool rtp_media(std::span<const uint8_t> p) noexcept {
  const uint8_t type = p.size() >= kMinMedia ? static_cast<uint8_t>(p[1] & 0x7f) : 0;
  return p.size() >= kMinMedia && (p[0] & 0xc0) == 0x80 && (p[0] & 0x2f) == 0 &&
         type >= kDynamicTypeFirst && type <= kDynamicTypeLast;
}

/// Follows the nonce suffix of one direction's media packets.
void follow_nonce(State& s, Side& side, std::span<const uint8_t> p) noexcept {
  const uint32_t ssrc = packet::be32(p, 8);
  const auto seq = packet::be16(p, 2);
  const uint32_t nonce = packet::be32(p, p.size() - 4);
  if (side.have != 0) {
    const uint32_t step = nonce - side.nonce;
    const auto seq_step = static_cast<uint16_t>(seq - side.seq);
    const bool ok = step >= 1 && step <= kMaxStep &&
                    (ssrc != side.ssrc || (seq_step >= 1 && seq_step <= kMaxStep));
    if (ok) {
      ++s.steps;
    } else {
      ++s.breaks;
    }
  }
  side = Side{.ssrc = ssrc, .nonce = nonce, .seq = seq, .have = 1};
}

}  // namespace

Interest DiscordVoice::interest() const noexcept {
  return Interest{.tcp = false, .udp = true, .needs_payload = true, .state_bytes = sizeof(State)};
}

Result DiscordVoice::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                             FlowSlot slot) noexcept {
  auto& s = slot.as<State>();
  const bool c2s = ctx.direction == Direction::kClientToServer;
  const Kind kind = discovery_kind(pkt.payload);
  // The discovery: the server's first datagram is the response, and it comes within the
  // client's first datagrams.
  if (!c2s && ctx.payload_packets[1] == 1 && kind == Kind::kResponse) {
    return Match{.app = AppId::kDiscord, .evidence = Evidence::kDpi};
  }
  const bool discovery_open =
      c2s && ctx.payload_packets[0] < kWaitPackets && ctx.payload_packets[1] == 0;
  if (kind == Kind::kNone && rtp_media(pkt.payload)) {
    s.media = static_cast<uint8_t>(s.media < 255 ? s.media + 1 : s.media);
    follow_nonce(s, s.side[c2s ? 0 : 1], pkt.payload);
    if (s.steps >= kSteps) {
      return Match{.app = AppId::kDiscord, .evidence = Evidence::kBehaviour};
    }
    return s.breaks >= kMaxBreaks ? Result{NotMine{}} : Result{NeedMore{}};
  }
  // Neither media nor a discovery still awaited: not Discord, unless media came before.
  return discovery_open || s.media > 0 ? Result{NeedMore{}} : Result{NotMine{}};
}

}  // namespace imguard::classifiers
