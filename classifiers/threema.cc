// SPDX-License-Identifier: GPL-3.0-or-later
// Threema chat server protocol (Threema Cryptography Whitepaper, "Chat Protocol (Message
// Transport Layer)"; the published client sources' handshake): over TCP 5222, else 443,
//   client-hello  48 bytes: the client's temporary X25519 public key (32; as a curve point
//                 below 2^255, so the top bit of its last byte is clear) and its cookie (16)
//   server-hello  80 bytes: the server's cookie (16) and a NaCl box (16-byte MAC) of the
//                 server's temporary public key and the client's cookie (48)
//   login         a box of the 128-byte login (144 bytes), then, in clients since 2022, a
//                 box of the protocol extensions (at least one 3-byte-header extension, so
//                 the whole login is exactly 144 or at least 164 bytes)
//   login-ack     32 bytes: a box of 16 reserved bytes
// and from then on frames in both directions: a 16-bit little-endian length and a box of
// at least 20 bytes (MAC and the 4-byte payload header). Each side waits for the other's
// handshake message before its next one, so the byte counts at each change of speaker
// are fixed. Evidence: pcaps/threema/ (synthetic from the sizes above).
// False positives: none known. Random payload and length-prefixed protocols with the
// same first sizes fail (pcaps/threema/same-sizes-*.pcap); see threema.h.
#include "classifiers/threema.h"

#include "packet/bytes.h"

namespace imguard::classifiers {
namespace {

constexpr uint32_t kClientHello = 48;
constexpr uint32_t kKeyTopByte = 31;  // last byte of the little-endian X25519 key
constexpr uint8_t kKeyTopBit = 0x80;
constexpr uint32_t kServerHello = 80;
constexpr uint32_t kLoginBox = 144;
constexpr uint32_t kMinExtensionsBox = 16 + 3 + 1;  // MAC, one extension of one byte
constexpr uint32_t kMaxExtensionsBox = 0xffff;      // its length is a 16-bit field
constexpr uint32_t kLoginAck = 32;
constexpr uint32_t kMinFrameBox = 16 + 4;
// Frames that must end exactly at a segment's end (either side) before the flow matches.
constexpr uint8_t kAlignedFrames = 2;
// Payload segments (both sides) after which a flow that has not shown them is not ours.
constexpr uint32_t kMaxSegments = 20;

enum Phase : uint8_t { kWaitClientHello, kWaitServerHello, kWaitLogin, kWaitLoginAck, kFrames };

struct Side {
  uint32_t next_seq;   // TCP sequence number of the next new byte
  uint32_t bytes;      // stream bytes seen
  uint32_t header_at;  // stream offset of the next frame's length (frames phase)
  uint8_t seq_known;
  uint8_t len_have;  // 1: the frame length's low byte ended the previous segment
  uint8_t len_lo;
};

struct State {
  Side side[2];
  uint8_t phase;
  uint8_t aligned;
};

bool covers(uint32_t start, size_t size, uint32_t at) noexcept {
  return start <= at && at - start < size;
}

// Threema's handshake messages are unframed: one whose first two bytes give its own
// length is a length-prefixed protocol with the same sizes.
bool unframed(std::span<const uint8_t> p, uint32_t start, uint32_t msg_at,
              uint32_t msg_len) noexcept {
  if (!covers(start, p.size(), msg_at) || !covers(start, p.size(), msg_at + 1)) {
    return true;
  }
  const size_t i = msg_at - start;
  return packet::le16(p, i) != msg_len - 2 && packet::be16(p, i) != msg_len - 2;
}

/// Follows one side's frames over the segment `p` that starts at stream offset `start`,
/// counting the segment in `aligned` when a frame ends exactly at its end. False on a
/// length no box can have.
bool follow_frames(Side& side, std::span<const uint8_t> p, uint32_t start,
                   uint8_t& aligned) noexcept {
  const uint32_t end = start + static_cast<uint32_t>(p.size());
  // A frame ends in this segment: one whose length an earlier segment gave, or one read here.
  bool frame_ends = side.header_at > start && side.len_have == 0;
  for (;;) {
    uint32_t len = 0;
    if (side.len_have == 1) {
      len = side.len_lo | (uint32_t{p[0]} << 8);  // the length straddles two segments
      side.len_have = 0;
    } else {
      if (side.header_at >= end) {
        break;  // the frame goes on in a later segment, or ends with this one
      }
      const size_t i = side.header_at - start;
      if (i + 1 == p.size()) {
        side.len_lo = p[i];
        side.len_have = 1;
        break;
      }
      len = packet::le16(p, i);
    }
    if (len < kMinFrameBox) {
      return false;
    }
    side.header_at += 2 + len;
    frame_ends = true;
  }
  if (frame_ends && side.len_have == 0 && side.header_at == end && aligned < 255) {
    ++aligned;
  }
  return true;
}

Result frames(State& s, Side& side, std::span<const uint8_t> p, uint32_t start,
              const FlowContext& ctx) noexcept {
  if (!follow_frames(side, p, start, s.aligned)) {
    return NotMine{};
  }
  if (s.aligned >= kAlignedFrames) {
    return Match{.app = AppId::kThreema, .evidence = Evidence::kBehaviour};
  }
  return ctx.payload_packets[0] + ctx.payload_packets[1] >= kMaxSegments ? Result{NotMine{}}
                                                                         : Result{NeedMore{}};
}

}  // namespace

Interest Threema::interest() const noexcept {
  return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = sizeof(State)};
}

Result Threema::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                        FlowSlot slot) noexcept {
  if (!ctx.start_seen) {
    return NotMine{};  // the handshake is the evidence
  }
  auto& s = slot.as<State>();
  const bool c2s = ctx.direction == Direction::kClientToServer;
  Side& side = s.side[c2s ? 0 : 1];
  if (side.seq_known == 0) {
    side.seq_known = 1;
    side.next_seq = pkt.tcp_seq;
  }
  // Bytes already seen (a retransmission) are skipped; a gap means lost bytes, and the
  // sizes can no longer be counted.
  const uint32_t behind = side.next_seq - pkt.tcp_seq;
  if (behind > side.bytes) {
    return NotMine{};
  }
  if (behind >= pkt.payload.size()) {
    return NeedMore{};
  }
  const auto p = pkt.payload.subspan(behind);
  const uint32_t start = side.bytes;
  side.bytes += static_cast<uint32_t>(p.size());
  side.next_seq += static_cast<uint32_t>(p.size());

  switch (s.phase) {
    case kWaitClientHello:
      if (!c2s || side.bytes > kClientHello || !unframed(p, start, 0, kClientHello) ||
          (covers(start, p.size(), kKeyTopByte) && (p[kKeyTopByte - start] & kKeyTopBit) != 0)) {
        return NotMine{};
      }
      s.phase = side.bytes == kClientHello ? kWaitServerHello : kWaitClientHello;
      return NeedMore{};
    case kWaitServerHello:
      // The client says nothing more before the server's hello is complete.
      if (c2s || side.bytes > kServerHello || !unframed(p, start, 0, kServerHello)) {
        return NotMine{};
      }
      s.phase = side.bytes == kServerHello ? kWaitLogin : kWaitServerHello;
      return NeedMore{};
    case kWaitLogin: {
      if (c2s) {
        return side.bytes - kClientHello > kLoginBox + kMaxExtensionsBox ? Result{NotMine{}}
                                                                         : Result{NeedMore{}};
      }
      // The server speaks again: the login is complete.
      const uint32_t login = s.side[0].bytes - kClientHello;
      if (login != kLoginBox && login < kLoginBox + kMinExtensionsBox) {
        return NotMine{};
      }
      s.side[0].header_at = s.side[0].bytes;
      side.header_at = kServerHello + kLoginAck;
      s.phase = kWaitLoginAck;
      [[fallthrough]];
    }
    case kWaitLoginAck:
      if (c2s || !unframed(p, start, kServerHello, kLoginAck)) {
        return NotMine{};  // the client waits for the acknowledgement
      }
      if (side.bytes <= kServerHello + kLoginAck) {
        s.phase = side.bytes == kServerHello + kLoginAck ? kFrames : kWaitLoginAck;
        return NeedMore{};  // the acknowledgement alone: no frame yet
      }
      s.phase = kFrames;
      return frames(s, side, p, start, ctx);
    case kFrames:
      return frames(s, side, p, start, ctx);
    default:
      return NotMine{};
  }
}

}  // namespace imguard::classifiers
